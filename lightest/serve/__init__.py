"""``lightest serve``: a local try-on page that lights a 3D hat and glasses on your photo by the estimate.

Needs the ``web`` extra (FastAPI, uvicorn): ``pip install "lightest[web]"``. Importing this package needs
nothing beyond the runtime; :func:`lightest.serve.server.serve` imports the web stack and says what to
install when it is missing.
"""
