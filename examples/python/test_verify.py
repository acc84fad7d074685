"""Tests of verify.py: python3 -m unittest discover -s examples/python"""

import base64
import hashlib
import hmac
import os
import unittest

from verify import WebhookVerificationError, verify

# The example in the Standard Webhooks specification, as every conforming library signs it.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def new_secret():
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def sign(secret, msg_id, timestamp, body):
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(msg_id, timestamp, signature):
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


class VerifyTest(unittest.TestCase):
    def setUp(self):
        self.secret = new_secret()
        self.now = 1_800_000_000
        self.body = '{"id":"msg_1","data":{"note":"ünïcode"}}'.encode()

    def signed(self, secret=None, timestamp=None, body=None, msg_id="msg_1"):
        timestamp = self.now if timestamp is None else timestamp
        return headers(msg_id, timestamp, sign(secret or self.secret, msg_id, timestamp, body or self.body))

    def assert_rejected(self, code, *args, **kwargs):
        with self.assertRaises(WebhookVerificationError) as caught:
            verify(*args, **kwargs)
        self.assertEqual(caught.exception.code, code)

    def test_when_the_specification_example_is_checked_then_it_verifies(self):
        verify(SPEC_SECRET, headers(SPEC_ID, SPEC_TIMESTAMP, SPEC_SIGNATURE), SPEC_BODY, now=SPEC_TIMESTAMP)

    def test_when_the_body_is_signed_with_the_secret_then_it_verifies(self):
        verify([self.secret], self.signed(), self.body, now=self.now)

    def test_when_headers_come_in_any_case_or_the_body_as_str_then_it_verifies(self):
        upper = {k.upper(): v for k, v in self.signed().items()}
        verify(self.secret, upper, self.body.decode(), now=self.now)

    def test_when_one_byte_of_the_body_changes_then_no_signature_matches(self):
        self.assert_rejected("no_matching_signature", self.secret, self.signed(), self.body + b" ", now=self.now)

    def test_when_signed_with_another_secret_then_no_signature_matches(self):
        self.assert_rejected("no_matching_signature", self.secret, self.signed(secret=new_secret()), self.body, now=self.now)

    def test_when_the_id_is_changed_then_no_signature_matches(self):
        h = self.signed()
        h["webhook-id"] = "msg_2"
        self.assert_rejected("no_matching_signature", self.secret, h, self.body, now=self.now)

    def test_when_the_timestamp_is_more_than_five_minutes_off_either_way_then_it_is_rejected(self):
        for skew in (-301, 301):
            h = self.signed(timestamp=self.now + skew)
            self.assert_rejected("timestamp_out_of_range", self.secret, h, self.body, now=self.now)

    def test_when_the_timestamp_is_within_five_minutes_then_it_verifies(self):
        for skew in (-300, 300):
            verify(self.secret, self.signed(timestamp=self.now + skew), self.body, now=self.now)

    def test_when_the_timestamp_is_not_whole_seconds_then_it_is_rejected(self):
        h = self.signed()
        h["webhook-timestamp"] = "1800000000.5"
        self.assert_rejected("invalid_timestamp", self.secret, h, self.body, now=self.now)

    def test_when_a_header_is_missing_then_it_is_rejected(self):
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            h = self.signed()
            del h[name]
            self.assert_rejected("missing_headers", self.secret, h, self.body, now=self.now)

    def test_when_a_rotation_sends_new_and_old_signatures_then_a_receiver_holding_either_secret_verifies(self):
        new = new_secret()
        both = self.signed(secret=new)
        both["webhook-signature"] += " " + self.signed()["webhook-signature"]
        verify([self.secret], both, self.body, now=self.now)
        verify([new], both, self.body, now=self.now)
        verify([new, self.secret], both, self.body, now=self.now)

    def test_when_the_receiver_holds_new_and_old_secret_then_a_request_signed_with_either_verifies(self):
        new = new_secret()
        verify([new, self.secret], self.signed(), self.body, now=self.now)
        verify([new, self.secret], self.signed(secret=new), self.body, now=self.now)

    def test_when_the_signature_has_another_version_or_altered_base64_then_it_is_rejected(self):
        h = self.signed()
        good = h["webhook-signature"]
        flipped = good[:-2] + ("B" if good[-2] == "A" else "A") + good[-1]
        for bad in ("v2," + good[3:], flipped, good[:10] + "!" + good[10:]):
            h["webhook-signature"] = bad
            self.assert_rejected("no_matching_signature", self.secret, h, self.body, now=self.now)

    def test_when_the_secret_is_not_base64_then_a_configuration_error_names_no_secret(self):
        with self.assertRaises(ValueError) as caught:
            verify("whsec_not*base64", self.signed(), self.body, now=self.now)
        self.assertNotIn("not*base64", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
