"""The local review page: server.py serves index.html, app.js and app.css from this package."""
