"""A mail sink: a real SMTP server (aiosmtpd) on a local port that keeps every message, so a
test reads what gatehouse sent and follows its link, as a person does from their mailbox."""

import email
import email.policy
import queue
import re
import socket

from aiosmtpd.controller import Controller


class MailSink:
    def __init__(self):
        self.received = queue.Queue()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                sink.received.put((list(envelope.rcpt_tos), message))
                return "250 kept"

        # The controller checks it is up by connecting to its port, so the port is chosen first.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}"

    def next(self, timeout: float = 10):
        """The next message: its recipients and the parsed message."""
        return self.received.get(timeout=timeout)

    def next_to(self, address: str, subject: str, timeout: float = 10) -> str:
        """The next message, which must go to `address` alone with `subject`: its text."""
        to, message = self.next(timeout)
        assert to == [address], to
        assert message["Subject"] == subject, message["Subject"]
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def link(message, prefix: str) -> str:
        text = message.get_body(preferencelist=("plain",)).get_content()
        found = re.search(re.escape(prefix) + r"\S*", text)
        assert found, f"no link {prefix} in {text}"
        return found.group(0)

    def stop(self):
        self.controller.stop()
