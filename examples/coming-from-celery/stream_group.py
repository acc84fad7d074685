"""Join a "group" the way a Channels consumer does, over Server-Sent Events:

    python3 stream_group.py 'chat.room1.>' [COUNT] [AFTER_SEQ]

group_send("room1", …) becomes a publish to chat.room1.<event>. Every listener gets every message while
connected; unlike a Channels group, a listener that drops out resumes from the last id it saw.
"""
import json
import os
import sys
import urllib.parse
import urllib.request

HOOKLINE_URL = os.environ.get("HOOKLINE_URL", "http://127.0.0.1:8080")
HOOKLINE_TOKEN = os.environ["HOOKLINE_TOKEN"]


def listen(pattern, count=None, after_seq=None):
    url = f"{HOOKLINE_URL}/v1/topics/{urllib.parse.quote(pattern, safe='')}/stream"
    if after_seq is not None:
        url += f"?from={after_seq}"  # resume after the last id seen; without it, new messages only
    request = urllib.request.Request(url, headers={"authorization": "Bearer " + HOOKLINE_TOKEN})
    seen = 0
    with urllib.request.urlopen(request, timeout=60) as stream:
        print(f"joined {pattern}", file=sys.stderr, flush=True)
        last_id = None
        for raw in stream:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("id: "):
                last_id = line[4:]  # reconnect with ?from=<last_id> to miss nothing
            elif line.startswith("data: "):
                message = json.loads(line[6:])
                print(json.dumps({"seq": last_id, "topic": message["topic"], "data": message["data"]}), flush=True)
                seen += 1
                if count is not None and seen >= count:
                    return


if __name__ == "__main__":
    listen(
        sys.argv[1],
        int(sys.argv[2]) if len(sys.argv) > 2 else None,
        int(sys.argv[3]) if len(sys.argv) > 3 else None,
    )
