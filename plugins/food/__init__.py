"""Food & beverage: ordering by case or by single unit (拆箱下单), mixed cases, shelf life."""
