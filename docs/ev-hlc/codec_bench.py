"""Time the Java EXI codec (py4j) on one DIN SessionSetupReq: start, then each round trip.

Run with the evaluation's own interpreter: .hlc/venv/bin/python docs/ev-hlc/codec_bench.py
"""

import json
import time

NS = "urn:din:70121:2012:MsgDef"
MESSAGE = {
    "V2G_Message": {
        "Header": {"SessionID": "00"},
        "Body": {"SessionSetupReq": {"EVCCID": "0A0B0C0D0E0F"}},
    }
}


def main() -> None:
    began = time.monotonic()
    from iso15118.shared.exificient_exi_codec import ExificientEXICodec

    codec = ExificientEXICodec()
    print(f"codec ready in {time.monotonic() - began:.2f} s")
    text = json.dumps(MESSAGE)
    for i in range(30):
        a = time.monotonic()
        exi = codec.encode(text, NS)
        b = time.monotonic()
        codec.decode(exi, NS)
        c = time.monotonic()
        print(f"{i:2d} encode {1000 * (b - a):7.1f} ms decode {1000 * (c - b):7.1f} ms")


if __name__ == "__main__":
    main()
