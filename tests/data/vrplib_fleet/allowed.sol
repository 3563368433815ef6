Route #1: 3
Route #2: 1 2
Route #3: 4
Cost 18
