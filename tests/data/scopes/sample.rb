class Cart
  def initialize(items)
    @items = items
  end

  def total
    t = 0
    @items.each { |i| t += i }
    t
  end
end
