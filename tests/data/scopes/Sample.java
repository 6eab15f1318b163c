package cart;

public class Cart {
    private int[] items;

    public int total() {
        int t = 0;
        for (int i : items) {
            t += i;
        }
        return t;
    }
}
