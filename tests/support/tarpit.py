"""Servers that never finish: each accepted connection gets ``greeting`` and then one byte of ``trickle`` every
``interval`` seconds, forever, without a line end - every read returns quickly, the dialogue never ends. A client
bounded only per read waits forever; one with a deadline gives up on time."""

import socket
import threading
import time


class Tarpit(object):
    def __init__(self, greeting=b"", trickle=b"2", interval=0.2):
        self.greeting, self.trickle, self.interval = greeting, trickle, interval
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped.is_set():
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.feed, args=(client,), daemon=True).start()

    def feed(self, client):
        try:
            client.sendall(self.greeting)
            while not self.stopped.is_set():
                client.sendall(self.trickle)
                time.sleep(self.interval)
        except OSError:
            pass
        finally:
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.listener.close()
