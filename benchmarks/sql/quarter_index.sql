(year({date}) * 4 + (month({date}) - 1) // 3)
