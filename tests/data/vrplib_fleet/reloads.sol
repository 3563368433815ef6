Route #1: 1 2 0 3
Cost 105
