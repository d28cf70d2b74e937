#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: notify
short_description: Tell people - a Slack-compatible webhook and email, each bounded in time, a failure reported not raised
version_added: 0.1.0
description:
  - Posts O(text) to a Slack-compatible webhook (a JSON object with the message as C(text)) and sends O(body) by email, in one call,
    usually delegated to the controller.
  - A channel that fails (refused, an HTTP error, a server that never answers, a rejected login) does not fail the
    task. It is a V(failed) entry in RV(upkeep_results), so that the run's report is still written and says that the
    message did not go out. Options that contradict each other, or a channel half configured, fail the task before
    anything is sent.
  - Each channel has one deadline, O(timeout), for its whole exchange; a server that trickles its answer a byte at a
    time cannot hold the run.
  - The webhook URL (for Slack and most chat services the URL is the credential) and the SMTP password are never
    printed, not even in failure messages.
  - The C(upkeep.maintenance.report) role sends each run's findings with it and records its failures in the report.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Check mode sends nothing and lists the channels it would use.
  diff_mode:
    support: none
options:
  subject:
    description:
      - One line, the subject of the email.
    type: str
    required: true
  text:
    description:
      - The message posted to the webhook. By default the subject.
    type: str
  body:
    description:
      - The body of the email, plain text (Markdown reads well as it is). By default O(text).
    type: str
  webhook_url:
    description:
      - A Slack-compatible incoming webhook; nothing is posted when unset or empty.
    type: str
  email_to:
    description:
      - Recipients of the email; nothing is mailed when empty.
    type: list
    elements: str
    default: []
  email_from:
    description:
      - Sender of the email.
    type: str
    default: upkeep@localhost
  smtp_host:
    description:
      - The SMTP server that takes the email.
    type: str
    default: localhost
  smtp_port:
    description:
      - Its port, 1 to 65535 (25 for relays, 587 for submission with STARTTLS, 465 with O(smtp_security=ssl)).
    type: int
    default: 25
  smtp_security:
    description:
      - V(auto) upgrades the connection with STARTTLS when the server offers it; V(starttls) requires it; V(ssl)
        speaks TLS from the first byte (port 465); V(none) never encrypts.
      - With O(smtp_username) set, the password is sent only over an encrypted connection, unless this is V(none).
    type: str
    choices: [auto, starttls, ssl, none]
    default: auto
  smtp_username:
    description:
      - Log in to the SMTP server as this user.
    type: str
  smtp_password:
    description:
      - The SMTP user's password.
    type: str
  validate_certs:
    description:
      - Verify the certificates of the webhook and of the SMTP server when it speaks TLS.
    type: bool
    default: true
  ca_file:
    description:
      - PEM file of the certificate authorities to trust instead of the system's.
    type: path
  timeout:
    description:
      - Seconds each channel may take in all, from connecting to the last answer.
    type: float
    default: 30
"""

EXAMPLES = r"""
- name: Tell the team, by chat and by email through the provider's submission port
  upkeep.maintenance.notify:
    subject: "weekly maintenance: CRITICAL"
    text: "weekly maintenance: 1 corrupt database restored on app1"
    body: "{{ lookup('ansible.builtin.file', '/var/tmp/upkeep-reports/weekly.md') }}"
    webhook_url: "{{ vault_slack_webhook }}"
    email_to: [ops@example.com]
    email_from: upkeep@example.com
    smtp_host: smtp.example.com
    smtp_port: 587
    smtp_security: starttls
    smtp_username: upkeep@example.com
    smtp_password: "{{ vault_smtp_password }}"
  delegate_to: localhost
  register: sent

- name: Fail when nobody could be told
  ansible.builtin.assert:
    that: sent.notifications | selectattr('status', 'eq', 'sent') | list | length > 0
"""

RETURN = r"""
notifications:
  description: One per channel used - C(channel) (V(webhook) or V(email)), C(status) (V(sent), V(failed), or
    V(planned) in check mode), C(message), C(seconds), and for email C(recipients) and C(refused).
  returned: always
  type: list
  elements: dict
  sample: [{"channel": "webhook", "status": "failed", "message": "the webhook answered HTTP 500", "seconds": 0.02}]
upkeep_results:
  description: One V(notification) entry per channel, V(ok) when sent and V(failed) when not.
  returned: always
  type: list
  elements: dict
"""

import email.message
import email.utils
import json
import smtplib
import ssl
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.upkeep.maintenance.plugins.module_utils._network import DeadlineExceeded, within
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry


class NotSent(Exception):
    """A channel that did not deliver, with a reason that names no secret."""


def post_webhook(params):
    try:
        answer = open_url(params["webhook_url"], data=json.dumps(dict(text=params["text"])), method="POST",
                          headers={"Content-Type": "application/json"}, timeout=params["timeout"],
                          validate_certs=params["validate_certs"], ca_path=params["ca_file"])
        answer.read()
    except HTTPError as error:
        raise NotSent("the webhook answered HTTP %d" % error.code)
    except URLError as error:
        raise NotSent("the webhook was not reached: %s" % getattr(error, "reason", error))
    except (UrlConnectionError, OSError, ValueError) as error:
        raise NotSent("the webhook was not reached: %s" % error)
    return "posted to the webhook"


def tls_context(params):
    context = ssl.create_default_context(cafile=params["ca_file"])
    if not params["validate_certs"]:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send_email(params):
    message = email.message.EmailMessage()
    message["Subject"] = params["subject"]
    message["From"] = params["email_from"]
    message["To"] = ", ".join(params["email_to"])
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=params["email_from"].rpartition("@")[2] or None)
    message.set_content(params["body"])
    security = params["smtp_security"]
    where = "%s port %d" % (params["smtp_host"], params["smtp_port"])
    try:
        if security == "ssl":
            client = smtplib.SMTP_SSL(params["smtp_host"], params["smtp_port"], timeout=params["timeout"],
                                      context=tls_context(params))
        else:
            client = smtplib.SMTP(params["smtp_host"], params["smtp_port"], timeout=params["timeout"])
        try:
            client.ehlo()
            if security in ("auto", "starttls") and client.has_extn("starttls"):
                client.starttls(context=tls_context(params))
                client.ehlo()
            elif security == "starttls":
                raise NotSent("%s does not offer STARTTLS, which smtp_security requires" % where)
            encrypted = isinstance(client.sock, ssl.SSLSocket)
            if params["smtp_username"]:
                if not encrypted and security != "none":
                    raise NotSent("%s offers no encryption: the password is not sent in clear text "
                                  "(smtp_security: none allows it)" % where)
                client.login(params["smtp_username"], params["smtp_password"])
            refused = client.send_message(message)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPAuthenticationError as error:
        raise NotSent("%s refused the login of %s: %s" % (where, params["smtp_username"], smtp_text(error)))
    except smtplib.SMTPRecipientsRefused as error:
        raise NotSent("%s refused every recipient: %s" % (where, ", ".join(sorted(error.recipients))))
    except smtplib.SMTPResponseException as error:
        raise NotSent("%s answered %d %s" % (where, error.smtp_code, smtp_text(error)))
    except ssl.SSLError as error:
        raise NotSent("TLS with %s failed: %s" % (where, error.reason or error))
    except (smtplib.SMTPException, OSError) as error:
        raise NotSent("%s: %s" % (where, error))
    accepted = [recipient for recipient in params["email_to"] if recipient not in refused]
    return "mailed to %s%s" % (", ".join(accepted), "; refused: %s" % ", ".join(sorted(refused)) if refused else "")


def smtp_text(error):
    text = error.smtp_error
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).strip()


def deliver(channel, target, send, params, check_mode):
    started = time.monotonic()
    outcome = dict(channel=channel)
    if channel == "email":
        outcome["recipients"] = list(params["email_to"])
    if check_mode:
        outcome.update(status="planned", message="would send by %s to %s" % (channel, target))
    else:
        try:
            outcome.update(status="sent", message=within(params["timeout"], send, params))
        except DeadlineExceeded as error:
            outcome.update(status="failed", message="%s: %s" % (target, error))
        except NotSent as error:
            outcome.update(status="failed", message=str(error))
    outcome["seconds"] = round(time.monotonic() - started, 3)
    status = "failed" if outcome["status"] == "failed" else "ok"
    return outcome, result_entry("notification", target, status, outcome["message"],
                                 metrics=dict(duration_seconds=outcome["seconds"]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            subject=dict(type="str", required=True),
            text=dict(type="str"),
            body=dict(type="str"),
            webhook_url=dict(type="str", no_log=True),
            email_to=dict(type="list", elements="str", default=[]),
            email_from=dict(type="str", default="upkeep@localhost"),
            smtp_host=dict(type="str", default="localhost"),
            smtp_port=dict(type="int", default=25),
            smtp_security=dict(type="str", default="auto", choices=["auto", "starttls", "ssl", "none"]),
            smtp_username=dict(type="str"),
            smtp_password=dict(type="str", no_log=True),
            validate_certs=dict(type="bool", default=True),
            ca_file=dict(type="path"),
            timeout=dict(type="float", default=30),
        ),
        required_together=[("smtp_username", "smtp_password")],
        supports_check_mode=True)
    params = module.params
    if not 0 < params["smtp_port"] < 65536:
        module.fail_json(msg="smtp_port must be 1 to 65535, got %d" % params["smtp_port"])
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be a number of seconds above 0, got %g" % params["timeout"])
    params["text"] = params["text"] if params["text"] is not None else params["subject"]
    params["body"] = params["body"] if params["body"] is not None else params["text"]
    channels = []
    if params["webhook_url"]:
        channels.append(("webhook", "webhook", post_webhook))
    if params["email_to"]:
        channels.append(("email", "email to %s" % ", ".join(params["email_to"]), send_email))
    notifications, entries = [], []
    for channel, target, send in channels:
        outcome, entry = deliver(channel, target, send, params, module.check_mode)
        notifications.append(outcome)
        entries.append(entry)
    summary = "; ".join(outcome["message"] for outcome in notifications) or "no channel configured: nothing sent"
    module.exit_json(changed=False, msg=summary, notifications=notifications, upkeep_results=entries)


if __name__ == "__main__":
    main()
