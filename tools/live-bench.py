#!/usr/bin/env python3
"""Live updates, measured against release servers already built (tools/benchmark-live runs it):

1. write -> other device: a citizen pushes a message on her case and the officer, waiting on
   GET /sync/wait, wakes and pulls it (and back: the officer writes, the citizen sees it) — from the
   push leaving to the pull's answer, p50 and p99 — while 0, 100 and 1,000 other devices wait;
2. what waiting devices cost the server: resident memory and CPU with 1,000 and 5,000 waiting;
3. bytes on the wire: an officer's first sync of --pull-cases cases (filed by one citizen, in pushes of
   500 mutations, every other one gzipped), pulled with and without gzip (Accept-Encoding); bytes and
   time of each push and each pull, with and without.

With --database-url, two instances on PostgreSQL: the writer pushes to one, the reader waits on and
pulls from the other (woken through PostgreSQL's notifications). Everything on 127.0.0.1; every loop is
bounded in count and time. Prints one JSON line a figure.
usage: tools/live-bench.py --bin DIR [--database-url URL] [--rounds 200] [--waiting 0,100,1000] [--idle 1000,5000]
                          [--pull-cases 20000]
"""
import argparse, asyncio, json, os, resource, socket, subprocess, sys, tempfile, time, uuid, zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol_ids import created_id  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--bin", required=True)
parser.add_argument("--database-url")
parser.add_argument("--rounds", type=int, default=200)
parser.add_argument("--waiting", default="0,100,1000")
parser.add_argument("--idle", default="1000,5000")
parser.add_argument("--pull-cases", type=int, default=20000)
args = parser.parse_args()
server_bin = os.path.join(args.bin, "casesync-server")
backend = "postgres" if args.database_url else "sqlite"
work = tempfile.mkdtemp(prefix="casesync-live-")
env = dict(os.environ, CASESYNC_DATA_DIR=os.path.join(work, "server"))
if args.database_url:
    env["CASESYNC_DATABASE_URL"] = args.database_url
# Room for every waiting connection, here and in the servers (each raises its own limit).
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
LIMITS = ["--sync-per-minute", "0", "--redeem-per-minute", "0", "--max-account-bytes", "0",
          "--max-connections", "20000", "--max-connections-per-address", "20000"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(figure, **values):
    print(json.dumps({"figure": figure, "backend": backend, **values}, sort_keys=True), flush=True)


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout


def invite(*flags):
    return json.loads(run(server_bin, "invite", "--json", *flags))["code"]


def gzip_body(data):
    """A request body gzipped as the reference client does it (zlib level 1, gzip's wrapper)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


class Connection:
    """One keep-alive HTTP/1.1 connection to a server."""

    def __init__(self, port, gzip=False):
        self.port = port
        self.gzip = gzip
        self.received = 0
        self.sent = 0
        self.gzip_bodies = False

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def send(self, method, path, token=None, body=None):
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        packed = self.gzip_bodies and len(data) >= 1024
        if packed:
            data = gzip_body(data)
        self.sent += len(data)
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "CaseSync-Protocol-Version: 1",
                f"Content-Length: {len(data)}"]
        if packed:
            head.append("Content-Encoding: gzip")
        if token:
            head.append(f"Authorization: Bearer {token}")
        if self.gzip:
            head.append("Accept-Encoding: gzip")
        if body is not None:
            head.append("Content-Type: application/json")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()

    async def answer(self):
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, packed = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            if name.lower() == "content-encoding" and value.strip() == "gzip":
                packed = True
        body = await self.reader.readexactly(length)
        self.received += length
        if packed:
            body = zlib.decompress(body, 31)
        if status != 200:
            raise RuntimeError(f"{status}: {body[:300]}")
        return json.loads(body)

    async def call(self, method, path, token=None, body=None):
        await self.send(method, path, token, body)
        return await self.answer()

    def close(self):
        self.writer.close()


class Device:
    def __init__(self, port, code, name):
        self.port, self.code, self.name = port, code, name
        self.next_id = 1

    async def login(self):
        self.connection = await Connection(self.port).open()
        answer = await self.connection.call("POST", "/auth/redeem", body={"code": self.code, "deviceName": self.name})
        self.token, self.client_id = answer["token"], answer["clientId"]
        self.cursor = None
        return self

    def hlc(self):
        return f"{int(time.time() * 1000)}-0000-{self.client_id}"

    async def push(self, mutations, connection=None):
        for mutation in mutations:
            mutation.update(mutationId=self.next_id, hlc=self.hlc())
            self.next_id += 1
        answer = await (connection or self.connection).call(
            "POST", "/sync/push", self.token, {"clientId": self.client_id, "mutations": mutations})
        for outcome in answer["outcomes"]:
            if outcome["status"] == "rejected":
                raise RuntimeError(f"a push was refused: {outcome}")
        return answer["outcomes"]

    async def pull(self, connection=None):
        changes = []
        while True:
            path = "/sync/pull" + (f"?cursor={self.cursor}" if self.cursor else "")
            page = await (connection or self.connection).call("GET", path, self.token)
            changes += page["changes"]
            self.cursor = page["cursor"]
            if not page["hasMore"]:
                return changes

    def wait_path(self, seconds=55):
        return f"/sync/wait?seconds={seconds}" + (f"&cursor={self.cursor}" if self.cursor else "")


def start_server(port):
    process = subprocess.Popen([server_bin, "serve", "--port", str(port), "--log-level", "error",
                                "--seed-authorities", os.path.join(root, "authorities", "starter.csv"), *LIMITS], env=env)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("the server did not start")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hold_waits(ports, idle_devices, count, ready):
    """Opens `count` connections, each holding a wait of an idle device (their scopes never change)."""
    connections = []
    for index in range(count):
        connection = await Connection(ports[index % len(ports)]).open()
        device = idle_devices[index % len(idle_devices)]
        await connection.send("GET", "/sync/wait?seconds=" + os.environ.get("WAIT_SECONDS", "55"), device.token)
        connections.append(connection)
    ready.set()
    return connections


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def main():
    if args.database_url:
        run(server_bin, "migrate")
    ports = [free_port() for _ in range(2 if args.database_url else 1)]
    servers = [start_server(port) for port in ports]
    try:
        writer_port, reader_port = ports[0], ports[-1]
        anna = await Device(writer_port, invite("--role", "citizen", "--name", "Anna"), "anna").login()
        olga = await Device(reader_port, invite("--role", "officer", "--authority", "gm0344", "--name", "Olga"), "olga").login()
        idle = [await Device(ports[i % len(ports)], invite("--role", "citizen", "--name", f"Idle {i}"), f"idle{i}").login()
                for i in range(100)]
        case_id = created_id(str(uuid.uuid4()), anna.client_id)
        fields = {"title": "Parking fine", "grounds": "My permit was valid", "decisionReference": "PT-1",
                  "decisionDate": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 10 * 86400))}
        await anna.push([{"op": "create", "caseId": case_id, "case": {"kind": "objection", "authorityId": "gm0344", "fields": fields}},
                         {"op": "transition", "caseId": case_id, "baseVersion": 1, "transition": {"to": "submitted"}}])
        await olga.pull()
        await anna.pull()
        # The writer's pushes travel on a connection of their own: the reader's holds its wait.
        writer_connections = {anna.name: await Connection(anna.port).open(), olga.name: await Connection(olga.port).open()}

        async def round_trip(writer, reader):
            """The writer adds a message; returns seconds from the push leaving to the reader's pull having it."""
            waiting = await Connection(reader.port).open()
            await waiting.send("GET", reader.wait_path(), reader.token)
            await asyncio.sleep(0.005)  # the wait has arrived and is registered before the write
            start = time.perf_counter()
            message = created_id(str(uuid.uuid4()), writer.client_id)
            await writer.push([{"op": "add_message", "caseId": case_id, "baseVersion": 1, "messageId": message,
                                "body": "Any news?"}], writer_connections[writer.name])
            woken = await asyncio.wait_for(waiting.answer(), timeout=30)
            changes = await reader.pull()
            elapsed = time.perf_counter() - start
            waiting.close()
            if not woken["changed"] or not any(c["id"] == message for c in changes):
                raise RuntimeError("the reader did not see the write")
            return elapsed

        for count in [int(n) for n in args.waiting.split(",")]:
            ready = asyncio.Event()
            held = await hold_waits(ports, idle, count, ready) if count else []
            await asyncio.sleep(1 if count else 0)
            latencies = []
            for index in range(args.rounds):
                writer, reader = (anna, olga) if index % 2 == 0 else (olga, anna)
                latencies.append(await round_trip(writer, reader))
            for connection in held:
                connection.close()
            report("live_latency", waiting=count, rounds=args.rounds, p50_ms=round(percentile(latencies, 50) * 1000, 2),
                   p99_ms=round(percentile(latencies, 99) * 1000, 2), max_ms=round(max(latencies) * 1000, 2))
            await asyncio.sleep(1)

        for count in [int(n) for n in args.idle.split(",")]:
            await asyncio.sleep(2)
            before = sum(rss_mb(s.pid) for s in servers)
            ready = asyncio.Event()
            held = await hold_waits(ports, idle, count, ready)
            await asyncio.sleep(3)
            after = sum(rss_mb(s.pid) for s in servers)
            cpu_start, wall_start = sum(cpu_seconds(s.pid) for s in servers), time.perf_counter()
            await asyncio.sleep(10)
            cpu = sum(cpu_seconds(s.pid) for s in servers) - cpu_start
            wall = time.perf_counter() - wall_start
            # Still all waiting, and a write still reaches the reader.
            latency = await round_trip(anna, olga)
            report("live_idle", waiting=count, rss_before_mb=round(before, 1), rss_after_mb=round(after, 1),
                   mb_per_1000=round((after - before) / count * 1000, 2), cpu_percent_of_a_core=round(cpu / wall * 100, 2),
                   write_to_reader_ms=round(latency * 1000, 2))
            for connection in held:
                connection.close()

        if args.pull_cases:
            # One citizen files and submits the cases (250 a push); an officer of the authority pulls them all.
            # Every other push goes gzipped (Content-Encoding: gzip): bytes and time of each kind, side by side.
            filer = await Device(writer_port, invite("--role", "citizen", "--name", "Filer"), "filer").login()
            pushes = {False: [], True: []}
            for number, start in enumerate(range(0, args.pull_cases, 250)):
                mutations = []
                for _ in range(min(250, args.pull_cases - start)):
                    filed = created_id(str(uuid.uuid4()), filer.client_id)
                    mutations += [{"op": "create", "caseId": filed, "case": {"kind": "objection", "authorityId": "gm0344", "fields": fields}},
                                  {"op": "transition", "caseId": filed, "baseVersion": 1, "transition": {"to": "submitted"}}]
                packed = number % 2 == 1
                filer.connection.gzip_bodies = packed
                sent = filer.connection.sent
                begin = time.perf_counter()
                await filer.push(mutations)
                pushes[packed].append((filer.connection.sent - sent, time.perf_counter() - begin, len(mutations)))
            for packed, runs in pushes.items():
                if runs:
                    report("push_bytes", gzip=packed, pushes=len(runs), mutations_per_push=runs[0][2],
                           bytes_per_push=round(sum(r[0] for r in runs) / len(runs)),
                           median_ms=round(percentile([r[1] * 1000 for r in runs], 50), 1))
            for gzip in (False, True):
                officer = await Device(reader_port, invite("--role", "officer", "--authority", "gm0344", "--name", "Reader"), "reader").login()
                officer.connection = await Connection(reader_port, gzip=gzip).open()
                start = time.perf_counter()
                changes = await officer.pull()
                elapsed = time.perf_counter() - start
                cases = sum(1 for c in changes if c["type"] == "case")
                report("first_sync_bytes", gzip=gzip, cases=cases, changes=len(changes), bytes=officer.connection.received,
                       bytes_per_case=round(officer.connection.received / max(cases, 1)), seconds=round(elapsed, 2))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        subprocess.run(["rm", "-rf", work])


asyncio.run(main())
