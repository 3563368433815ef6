Route #1: 1 2 4 3 5
Cost 12
