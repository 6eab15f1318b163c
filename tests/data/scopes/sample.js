const util = require("util");

function add(a, b) {
  const sum = a + b;
  return sum;
}

class Cart {
  total(items) {
    let t = 0;
    for (const i of items) t += i.price;
    return t;
  }
}
