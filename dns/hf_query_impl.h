static inline enum hf_query_verdict hf_query_parse(const uint8_t *p, uint16_t len, struct hf_query *q, uint8_t *lname) { (void)p; (void)len; (void)q; (void)lname; return HF_Q_DROP; }
