"""The lesson page (``page.py``): one click trains the three units on the long-memory task."""
