#!/usr/bin/env python3
"""Measures files through CaseSync beside curl and nginx (see tools/benchmark-files)."""
import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--bin", required=True)
parser.add_argument("--megabytes", type=int, default=20)
parser.add_argument("--runs", type=int, default=3)
args = parser.parse_args()
server_bin = os.path.join(args.bin, "casesync-server")
cli_bin = os.path.join(args.bin, "casesync")
work = tempfile.mkdtemp(prefix="casesync-files-")
processes = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*command, env=None, check=True):
    return subprocess.run(command, env=env, check=check, capture_output=True, text=True)


def wait_for(url):
    for _ in range(200):
        if subprocess.run(["curl", "-sf", url], capture_output=True).returncode == 0:
            return
        time.sleep(0.05)
    sys.exit(f"no answer from {url}")


def photo(path, size, seed):
    """A JPEG's first bytes, then bytes that do not compress."""
    with open(path, "wb") as f:
        f.write(bytes([0xFF, 0xD8, 0xFF, 0xE0]) + seed.to_bytes(4, "big"))
        f.write(os.urandom(size - 8))


def report(**figures):
    print(json.dumps(figures), flush=True)


try:
    data_dir = os.path.join(work, "server")
    port = free_port()
    server_env = dict(os.environ, CASESYNC_DATA_DIR=data_dir)
    run(server_bin, "authorities", "import", "authorities/starter.csv", env=server_env)
    processes.append(subprocess.Popen(
        [server_bin, "serve", "--port", str(port), "--log-level", "error", "--sync-per-minute", "0"],
        env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/health")

    def device(role, name, server_url, authority=None):
        home = os.path.join(work, "home-" + name)
        invite = [server_bin, "invite", "--role", role, "--name", name, "--json"]
        if authority:
            invite += ["--authority", authority]
        code = json.loads(run(*invite, env=server_env).stdout)["code"]
        env = dict(os.environ, CASESYNC_HOME=home)
        run(cli_bin, "login", server_url, code, env=env)
        return env

    def new_case(env):
        run(cli_bin, "new", "objection", "--authority", "gm0344", "--reference", "PT-1", "--decision-date",
            time.strftime("%Y-%m-%d"), "--title", "Parking fine", "--grounds", "Permit on the dashboard", env=env)
        cases = json.loads(run(cli_bin, "list", "--json", env=env).stdout)
        return sorted(cases, key=lambda c: c["record"]["createdAt"])[-1]["record"]["id"]

    size = args.megabytes * 1_000_000
    citizen = device("citizen", "Anna", url)
    officer = device("officer", "Olga", url, "gm0344")
    ups, downs = [], []
    for run_index in range(args.runs):
        path = os.path.join(work, f"photo-{run_index}.jpg")
        photo(path, size, run_index)
        case_id = new_case(citizen)
        run(cli_bin, "sync", env=citizen)
        run(cli_bin, "attach", case_id, path, env=citizen)
        started = time.monotonic()
        run(cli_bin, "sync", env=citizen)
        ups.append(time.monotonic() - started)
        run(cli_bin, "sync", env=officer)
        target = os.path.join(work, f"fetched-{run_index}.jpg")
        started = time.monotonic()
        run(cli_bin, "download", case_id, os.path.basename(path), "--output", target, env=officer)
        downs.append(time.monotonic() - started)
        if open(target, "rb").read() != open(path, "rb").read():
            sys.exit("the fetched file differs from the one sent")
        os.remove(target)
        last_case, last_photo = case_id, path

    # nginx serving plain files, PUT allowed: the floor of moving these bytes over HTTP on this machine.
    www = os.path.join(work, "www")
    nginx_run = os.path.join(work, "nginx")
    os.makedirs(www)
    os.makedirs(nginx_run)
    nginx_port = free_port()
    with open(os.path.join(nginx_run, "nginx.conf"), "w") as f:
        # Its worker writes into this run's folder, which only this user may enter.
        user = "user root;" if os.geteuid() == 0 else ""
        f.write(f"""
{user}
worker_processes 1;
pid {nginx_run}/nginx.pid;
error_log {nginx_run}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {nginx_run}/body;
  proxy_temp_path {nginx_run}/proxy;
  fastcgi_temp_path {nginx_run}/fastcgi;
  uwsgi_temp_path {nginx_run}/uwsgi;
  scgi_temp_path {nginx_run}/scgi;
  server {{
    listen 127.0.0.1:{nginx_port};
    root {www};
    client_max_body_size 0;
    location / {{ dav_methods PUT; create_full_put_path on; }}
  }}
}}
""")
    processes.append(subprocess.Popen(["nginx", "-c", os.path.join(nginx_run, "nginx.conf"), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    nginx_url = f"http://127.0.0.1:{nginx_port}"
    for _ in range(100):
        if subprocess.run(["curl", "-s", "-o", "/dev/null", nginx_url + "/"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    curl_ups, curl_downs = [], []
    for run_index in range(args.runs):
        path = os.path.join(work, f"photo-{run_index}.jpg")
        out = run("curl", "-sf", "-H", "Expect:", "-T", path, "-o", "/dev/null", "-w", "%{time_total}", f"{nginx_url}/photo-{run_index}.jpg").stdout
        curl_ups.append(float(out))
        out = run("curl", "-sf", "-o", "/dev/null", "-w", "%{time_total}", f"{nginx_url}/photo-{run_index}.jpg").stdout
        curl_downs.append(float(out))

    # The server alone, driven by curl (the device's token, the protocol's endpoints): where the time goes.
    token_of = lambda env: open(os.path.join(env["CASESYNC_HOME"], "casesync.sqlite.token")).read().strip()
    # (No "Expect: 100-continue": curl would wait a second for an interim answer before sending.)
    headers = ["-H", "CaseSync-Protocol-Version: 1", "-H", "Expect:"]
    server_ups, server_downs = [], []
    for run_index in range(args.runs):
        path = os.path.join(work, f"direct-{run_index}.jpg")
        photo(path, size, 1000 + run_index)
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        out = run("curl", "-sf", "-X", "PUT", "--data-binary", f"@{path}", "-H", "Content-Type: application/octet-stream",
                  "-H", f"Authorization: Bearer {token_of(citizen)}", *headers, "-o", "/dev/null", "-w", "%{time_total}",
                  f"{url}/uploads/{digest}?size={size}&offset=0").stdout
        server_ups.append(float(out))
    case_id, name = last_case, os.path.basename(last_photo)
    digest = hashlib.sha256(open(last_photo, "rb").read()).hexdigest()
    for run_index in range(args.runs):
        out = run("curl", "-sf", "-H", f"Authorization: Bearer {token_of(officer)}", *headers, "-o", "/dev/null", "-w", "%{time_total}",
                  f"{url}/cases/{case_id}/blobs/{digest}").stdout
        server_downs.append(float(out))

    mb = size / 1e6
    up, down = statistics.median(ups), statistics.median(downs)
    curl_up, curl_down = statistics.median(curl_ups), statistics.median(curl_downs)
    report(figure="upload", megabytes=args.megabytes, casesync_mb_per_s=round(mb / up, 1), curl_nginx_mb_per_s=round(mb / curl_up, 1),
           ratio=round(curl_up / up, 3), casesync_seconds=[round(x, 3) for x in ups], curl_seconds=[round(x, 3) for x in curl_ups],
           measures="casesync sync sending one attached photo (pieces of 4 MiB, hashed and checked by the server, the attach pushed, a pull) vs curl -T to nginx")
    report(figure="server alone (curl to casesync-server)", megabytes=args.megabytes,
           upload_mb_per_s=round(mb / statistics.median(server_ups), 1), download_mb_per_s=round(mb / statistics.median(server_downs), 1),
           upload_seconds=[round(x, 3) for x in server_ups], download_seconds=[round(x, 3) for x in server_downs],
           measures="one PUT of the whole photo (hashed and checked once whole) and one GET of it, with curl")
    report(figure="download", megabytes=args.megabytes, casesync_mb_per_s=round(mb / down, 1), curl_nginx_mb_per_s=round(mb / curl_down, 1),
           ratio=round(curl_down / down, 3), casesync_seconds=[round(x, 3) for x in downs], curl_seconds=[round(x, 3) for x in curl_downs],
           measures="casesync download of the photo (pieces of 4 MiB with Range, hashed as they come, flushed once, copied to --output) vs curl from nginx")

    # The bytes on the wire for a case with three photos: a relay counts each direction.
    counted = {"up": 0, "down": 0}
    lock = threading.Lock()
    relay_port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", relay_port))
    listener.listen(64)

    def pump(source, target, direction):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                with lock:
                    counted[direction] += len(chunk)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve_relay():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", port))
            threading.Thread(target=pump, args=(client, upstream, "up"), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, "down"), daemon=True).start()

    threading.Thread(target=serve_relay, daemon=True).start()
    relay_url = f"http://127.0.0.1:{relay_port}"
    anna = device("citizen", "Anna-relay", relay_url)
    olga = device("officer", "Olga-relay", relay_url, "gm0344")
    run(cli_bin, "sync", env=olga)
    case_id = new_case(anna)
    run(cli_bin, "sync", env=anna)
    photos = []
    for index in range(3):
        path = os.path.join(work, f"case-photo-{index}.jpg")
        photo(path, 3_000_000, 100 + index)
        photos.append(path)
        run(cli_bin, "attach", case_id, path, env=anna)
    with lock:
        counted.update(up=0, down=0)
    run(cli_bin, "sync", env=anna)
    with lock:
        sent = dict(counted)
        counted.update(up=0, down=0)
    run(cli_bin, "sync", env=olga)
    for path in photos:
        run(cli_bin, "download", case_id, os.path.basename(path), "--output", path + ".fetched", env=olga)
    with lock:
        fetched = dict(counted)
    listener.close()
    file_bytes = 3 * 3_000_000
    report(figure="case with 3 photos", photo_bytes=file_bytes,
           citizen_sync_bytes_up=sent["up"], citizen_sync_bytes_down=sent["down"],
           citizen_overhead=round(sent["up"] / file_bytes - 1, 4),
           officer_sync_and_downloads_bytes_down=fetched["down"], officer_bytes_up=fetched["up"],
           officer_overhead=round(fetched["down"] / file_bytes - 1, 4),
           measures="bytes through a relay between the CLI and the server: the citizen's sync sending 3 photos of 3 MB (and the rest of that sync), the officer's sync and 3 downloads")
finally:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    shutil.rmtree(work, ignore_errors=True)
