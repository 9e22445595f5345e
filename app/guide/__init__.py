"""The guide page for teachers (``guide.py``; its words: ``app.guide_text``)."""
