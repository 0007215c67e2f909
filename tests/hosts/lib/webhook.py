"""A webhook stand-in on loopback: every POST body is appended, one line each, to a file."""
import http.server
import sys

ADDRESS, PORT, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(OUT, "ab") as out:
            out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((ADDRESS, PORT), Hook).serve_forever()
