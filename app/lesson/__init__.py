"""The lesson page (``lesson.py``): one click trains the three units on the long-memory task."""
