#include <vector>

class Cart {
public:
    int total() const {
        int t = 0;
        for (int i : items) {
            t += i;
        }
        return t;
    }
private:
    std::vector<int> items;
};
