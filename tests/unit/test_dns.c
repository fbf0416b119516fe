#include "hf_test.h"
int main(void) { return hf_test_run(NULL, 0); }
