interface Item {
  price: number;
}

export function total(items: Item[]): number {
  let t = 0;
  for (const i of items) {
    t += i.price;
  }
  return t;
}
