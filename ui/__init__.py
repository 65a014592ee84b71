"""The web app (Gradio): the page's tabs and their backend — the models per domain, request folders, ZeroGPU's GPU
time, the page's text, and requests as streams of updates. It imports the library; the library never imports it.
`app.py` at the repository root builds the page from it and launches."""
