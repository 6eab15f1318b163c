pub struct Cart {
    items: Vec<u32>,
}

impl Cart {
    pub fn total(&self) -> u32 {
        let mut t = 0;
        for i in &self.items {
            t += i;
        }
        t
    }
}
