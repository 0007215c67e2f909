"""A git repository over HTTPS (git's "dumb" protocol: static files) that
answers only requests whose Basic credentials hold the token, as a private
GitHub repository does. Logs each request's method, path and status, never
a header, so the log shows whether a token ever reached a URL.

Usage: gitserver.py ADDRESS PORT ROOT CERT KEY TOKEN_FILE LOG
"""

import base64
import http.server
import ssl
import sys
from functools import partial

address, port, root, cert, key, token_file, log_file = sys.argv[1:8]
with open(token_file) as f:
    expected = "Basic " + base64.b64encode(f"x-access-token:{f.read().strip()}".encode()).decode()
log = open(log_file, "a", buffering=1)


class Handler(http.server.SimpleHTTPRequestHandler):
    def authorised(self):
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="deployc-hosts"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self):
        if self.authorised():
            super().do_GET()

    def do_HEAD(self):
        if self.authorised():
            super().do_HEAD()

    def log_request(self, code="-", size="-"):
        log.write(f"{self.command} {self.path} {code}\n")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer((address, int(port)), partial(Handler, directory=root))
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
