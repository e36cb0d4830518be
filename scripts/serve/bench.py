"""The figures of `nmt serve` for docs/BENCHMARKS.md, each measured beside its peer in one run.

1. Batching: CLIENTS clients send Tatoeba's first SENTENCES test sentences, one per request
   (POST /v1/translate, unsplit), to `nmt serve --batch-wait W` for each W; against
   `nmt translate` on the same lines (run before each server, so both see the same machine).
   Reports wall times, their ratio, the mean batch size (/metrics) and whether every output line
   equals `nmt translate`'s; and the median latency of one client alone at that wait.
2. Load: a fixed count of requests from CLIENTS clients: errors, p50/p99 latency, throughput,
   and the server's RSS per quarter of the run.

    python3 scripts/serve/bench.py [--nmt .build/release/nmt] [--sentences 300] [--waits 0,5,10,20]
                                   [--rounds 3] [--load-requests 3000] [--lone-requests 100]
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def start_server(nmt, arguments):
    process = subprocess.Popen([nmt, "serve", "--port", "0"] + arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"on (http://\S+):(\d+)", line)
    if not match:
        process.kill()
        sys.exit(f"nmt serve did not start: {line}{process.stderr.read()}")
    return process, f"{match.group(1)}:{match.group(2)}"


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=120)


def metric(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def load(url, sentences, pid, clients, requests=None, output=None):
    command = [sys.executable, os.path.join(HERE, "load_test.py"), "--url", url, "--sentences", sentences,
               "--clients", str(clients), "--pid", str(pid)]
    if requests:
        command += ["--requests", str(requests)]
    if output:
        command += ["--output", output]
    result = subprocess.run(command, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nmt", default=os.path.join(ROOT, ".build/release/nmt"))
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(ROOT), "shared/corpora/tatoeba-eng-fra/test.tsv"))
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--waits", default="0,5,10,20")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load-requests", type=int, default=3000)
    parser.add_argument("--lone-requests", type=int, default=100, help="requests of one client alone, per wait")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="nmt-serve-bench-")
    source = os.path.join(folder, "source.en")
    with open(args.corpus, encoding="utf-8") as corpus, open(source, "w", encoding="utf-8") as out:
        for _, line in zip(range(args.sentences), corpus):
            out.write(line.split("\t")[0] + "\n")
    expected_path = os.path.join(folder, "expected.fr")

    # What batching alone costs, without HTTP: nmt translate with batches of 16 (sorted by length
    # within its chunk, as it does), and with the lines shuffled (batches of 16 mixed lengths, as
    # concurrent clients make them).
    shuffled = os.path.join(folder, "shuffled.en")
    lines = open(source, encoding="utf-8").read().splitlines()
    order = sorted(range(len(lines)), key=lambda i: (i * 7919) % len(lines))
    with open(shuffled, "w", encoding="utf-8") as out:
        out.write("\n".join(lines[i] for i in order) + "\n")
    references = {}
    for name, path, extra in [("translate_default", source, []), ("translate_batch16", source, ["--batch-size", "16"]),
                              ("translate_batch16_shuffled", shuffled, ["--batch-size", "16"])]:
        times = []
        for _ in range(args.rounds):
            begin = time.monotonic()
            with open(path) as stdin:
                subprocess.run([args.nmt, "translate"] + extra, stdin=stdin, stdout=subprocess.DEVNULL, check=True)
            times.append(time.monotonic() - begin)
        references[name] = round(statistics.median(times), 2)
    print(json.dumps({"references_s": references}), flush=True)

    rows = []
    for wait in [int(w) for w in args.waits.split(",")]:
        translate_times, serve_times, batches, exact = [], [], [], True
        for _ in range(args.rounds):
            begin = time.monotonic()
            with open(source) as stdin, open(expected_path, "w") as stdout:
                subprocess.run([args.nmt, "translate"], stdin=stdin, stdout=stdout, check=True)
            translate_times.append(time.monotonic() - begin)
            server, url = start_server(args.nmt, ["--batch-wait", str(wait)])
            got = os.path.join(folder, f"served-{wait}.fr")
            report = load(url, source, server.pid, args.clients, output=got)
            serve_times.append(report["seconds"])
            batches.append(metric(url, "nmt_batch_sentences_sum") / metric(url, "nmt_batch_sentences_count"))
            exact = exact and report["errors"] == 0 and open(got).read() == open(expected_path).read()
            stop_server(server)
        # What the wait costs a client alone: every batch waits the whole of it for company.
        server, url = start_server(args.nmt, ["--batch-wait", str(wait)])
        alone = load(url, source, server.pid, 1, requests=args.lone_requests)
        stop_server(server)
        row = {"batch_wait_ms": wait, "translate_s": round(statistics.median(translate_times), 2),
               "serve_s": round(statistics.median(serve_times), 2),
               "ratio": round(statistics.median(s / t for s, t in zip(serve_times, translate_times)), 2),
               "mean_batch": round(statistics.median(batches), 1), "identical_output": exact,
               "lone_client_p50_ms": alone["latency_ms"]["p50"]}
        rows.append(row)
        print(json.dumps(row), flush=True)

    server, url = start_server(args.nmt, [])
    report = load(url, source, server.pid, args.clients, requests=args.load_requests)
    report["exit_status_after_SIGTERM"] = stop_server(server)
    print(json.dumps({"load": report}), flush=True)


if __name__ == "__main__":
    main()
