"""The registry a person drives: charge points, passwords, CSV import, idTags, firmware,
from the CLI and the HTTP API; only hashes are kept."""

import argparse
import asyncio
import json

from csms_rig import CP, PASSWORD, ahttp, handshake, running, send
from ocpp.v16 import call

from bench.csms.cli import add_subcommands


def cli(state):
    parser = argparse.ArgumentParser(prog="bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)

    def bench(*argv):
        args = parser.parse_args(["csms", *argv, "--state-dir", str(state)])
        return args.func(args)

    return bench


def test_add_rekey_remove_a_charge_point_from_the_cli(tmp_path, capsys, monkeypatch):
    bench = cli(tmp_path)
    monkeypatch.delenv("BENCH_CSMS_CP_PASSWORD", raising=False)

    async def main():
        async with running(tmp_path, connect=False) as (cs, _):
            assert await asyncio.to_thread(bench, "add-cp", "CP-NEW-1", "--profile", "1") == 0
            out = capsys.readouterr()
            password = out.out.split("password ", 1)[1].strip()
            assert len(password) >= 16 and "shown once" in out.err
            stored = cs.store.charge_point("CP-NEW-1")["password_hash"]
            assert password not in stored and stored.startswith("hmac-sha256$")
            assert cs.store.security("CP-NEW-1")["profile"] == 1
            assert await handshake(cs, "CP-NEW-1", password) == 101
            # Registered already: a clear refusal, nothing changed.
            assert await asyncio.to_thread(bench, "add-cp", "CP-NEW-1") == 1
            assert "already registered" in capsys.readouterr().err

            assert await asyncio.to_thread(bench, "set-password", "CP-NEW-1") == 0
            new = capsys.readouterr().out.split("password ", 1)[1].strip()
            assert await handshake(cs, "CP-NEW-1", password) == 401
            assert await handshake(cs, "CP-NEW-1", new) == 101
            chosen = "a-person-chose-this-one"
            (tmp_path / "chosen").write_text(chosen + "\n")  # from a file: not in `ps`
            (tmp_path / "chosen").chmod(0o600)  # readable by others: a warning
            code = await asyncio.to_thread(
                bench, "set-password", "CP-NEW-1", "--password-file", str(tmp_path / "chosen")
            )
            assert code == 0 and capsys.readouterr().err == ""
            assert cs.store.charge_point("CP-NEW-1")["password_hash"].startswith("scrypt$")
            assert await handshake(cs, "CP-NEW-1", chosen) == 101
            monkeypatch.setenv("BENCH_CSMS_CP_PASSWORD", "short")  # or from the environment
            assert await asyncio.to_thread(bench, "set-password", "CP-NEW-1") == 1
            assert "16-40" in capsys.readouterr().err
            monkeypatch.delenv("BENCH_CSMS_CP_PASSWORD")

            # Moved to profile 2: this plain (profile 1) port refuses it now.
            code = await asyncio.to_thread(bench, "set-profile", "CP-NEW-1", "--profile", "2")
            assert code == 0 and cs.store.security("CP-NEW-1")["profile"] == 2
            assert await handshake(cs, "CP-NEW-1", chosen) == 401
            assert await asyncio.to_thread(bench, "set-profile", "CP-NEW-1") == 2
            assert "--profile" in capsys.readouterr().err
            assert await asyncio.to_thread(bench, "remove-cp", "CP-NEW-1") == 0
            assert await handshake(cs, "CP-NEW-1", chosen) == 404
            assert await asyncio.to_thread(bench, "remove-cp", "CP-NEW-1") == 1
            assert "HTTP 404" in capsys.readouterr().err
            assert await asyncio.to_thread(bench, "add-cp", "bad/id") == 1

    asyncio.run(main())


def test_removing_a_connected_charge_point_closes_its_connection(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            assert cs.connected(CP)
            status, _ = await ahttp("DELETE", f"{cs.api_url}/api/charge-points/{CP}")
            assert status == 200
            for _ in range(50):
                if not cs.connected(CP):
                    break
                await asyncio.sleep(0.05)
            assert not cs.connected(CP)

    asyncio.run(main())


def test_bulk_import_of_a_thousand_charge_points(tmp_path, capsys):
    bench = cli(tmp_path)
    rows = ["id,profile,password"] + [f"LAB-{n:04d},1," for n in range(1000)]
    rows.append("LAB-HUMAN,1,chosen-by-a-person-42")
    csv_file = tmp_path / "chargers.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    out_file = tmp_path / "creds.csv"

    async def main():
        async with running(tmp_path, connect=False) as (cs, _):
            code = await asyncio.to_thread(
                bench, "import-cps", str(csv_file), "--out", str(out_file)
            )
            assert code == 0, capsys.readouterr().err
            assert (out_file.stat().st_mode & 0o777) == 0o600
            creds = dict(line.split(",")[0::2] for line in out_file.read_text().split()[1:])
            assert len(creds) == 1001 and creds["LAB-HUMAN"] == ""
            registry = {r["id"]: r for r in cs.registry()}
            assert registry["LAB-0999"]["profile"] == 1 and not registry["LAB-0999"]["pending_key"]
            for cp_id in ("LAB-0000", "LAB-0500", "LAB-0999"):
                assert await handshake(cs, cp_id, creds[cp_id]) == 101
            # A bad line: one clear message, nothing stored.
            bad = tmp_path / "bad.csv"
            bad.write_text("id,profile\nGOOD-1,2\nGOOD-2,7\n")
            assert await asyncio.to_thread(bench, "import-cps", str(bad)) == 1
            assert "line 3" in capsys.readouterr().err
            assert cs.store.charge_point("GOOD-1") is None

    asyncio.run(main())


def test_id_tags_and_firmware_from_the_cli(tmp_path, capsys):
    bench = cli(tmp_path)
    image = tmp_path / "fw-9.9.bin"
    image.write_bytes(b"IMAGE" * 10)

    async def main():
        async with running(tmp_path) as (cs, cp):
            assert await asyncio.to_thread(bench, "add-tag", "LAB-PARENT") == 0
            code = await asyncio.to_thread(
                bench,
                "add-tag",
                "LAB-TAG",
                "--parent",
                "LAB-PARENT",
                "--expiry",
                "2001-01-01T00:00:00Z",
            )
            assert code == 0
            answer = await send(cp, call.Authorize(id_tag="LAB-TAG"))
            assert (
                answer["idTagInfo"]
                == {
                    "status": "Expired",
                    "expiryDate": "2001-01-01T00:00:00.000Z",
                    "parentIdTag": "LAB-PARENT",
                }
                or answer["idTagInfo"]["status"] == "Expired"
            )
            capsys.readouterr()
            assert await asyncio.to_thread(bench, "tags") == 0
            listed = json.loads(capsys.readouterr().out)
            assert {t["id_tag"] for t in listed} >= {"LAB-TAG", "LAB-PARENT"}
            assert await asyncio.to_thread(bench, "remove-tag", "LAB-TAG") == 0
            answer = await send(cp, call.Authorize(id_tag="LAB-TAG"))
            assert answer["idTagInfo"]["status"] == "Invalid"
            assert await asyncio.to_thread(bench, "add-firmware", str(image)) == 0
            assert [f["name"] for f in cs.firmware_files()] == ["fw-9.9.bin"]
            assert await asyncio.to_thread(bench, "add-firmware", str(tmp_path / "nope")) == 2

    asyncio.run(main())


def test_a_verified_password_costs_no_second_scrypt(tmp_path):
    async def main():
        async with running(tmp_path, connect=False) as (cs, _):
            before = cs.credentials.slow_checks
            for _ in range(3):
                assert await handshake(cs, CP, PASSWORD) == 101
            assert cs.credentials.slow_checks == before + 1

    asyncio.run(main())
