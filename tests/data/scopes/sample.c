#include <stdio.h>

int total(int *items, int n) {
    int t = 0;
    for (int i = 0; i < n; i++) {
        t += items[i];
    }
    return t;
}
