"""The guide page for teachers (``page.py``; its words: ``app.guide_text``)."""
