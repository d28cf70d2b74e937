# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Deadlines for network dialogues. A socket timeout bounds each read, not a dialogue: a server that trickles one
byte at a time keeps every read short and the dialogue endless. Our own dialogues ask the deadline before each read;
those of library clients (urllib, smtplib) run in a thread that is abandoned at the deadline."""

import socket
import threading
import time


class DeadlineExceeded(socket.timeout):
    """The whole dialogue took longer than its deadline."""


class Deadline(object):
    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self):
        """Seconds left, for the next socket operation's timeout; raises DeadlineExceeded once none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("no complete answer within %g s" % self.seconds)
        return left

    def bound(self, sock):
        """Give the socket's next operation what is left of the deadline."""
        sock.settimeout(self.remaining())
        return sock


def within(seconds, function, *args, **kwargs):
    """function(*args, **kwargs), or DeadlineExceeded when it has not returned after ``seconds``. The thread left
    behind is a daemon: it ends with the module's process, which exits right after."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # handed to the caller, which decides what it means
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeadlineExceeded("no complete answer within %g s" % seconds)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
