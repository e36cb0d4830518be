"""A bounded load test of `nmt serve` from a second process.

Sends a fixed number of POST /v1/translate requests, one sentence each (unsplit, as
`nmt translate` reads a line), from CLIENTS threads with keep-alive connections; records each
request's latency and, every 0.2 s, the server's resident memory (VmRSS of --pid). Prints one JSON
object: requests, errors, seconds, requests/s, latency p50/p90/p99, RSS per quarter of the run and
the growth from the first quarter to the last. With --output, writes the translations, one a line
in input order (to compare with `nmt translate`).

    python load_test.py --url http://127.0.0.1:8080 --sentences test.en --requests 2000 --clients 16 --pid PID
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--sentences", required=True, help="a file of sentences, one a line")
    parser.add_argument("--requests", type=int, help="how many requests (default: one per sentence)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--pid", type=int, help="the server's process id, to sample its memory")
    parser.add_argument("--output", help="write the translations here, one a line")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds in all")
    args = parser.parse_args()

    sentences = [line.rstrip("\n") for line in open(args.sentences, encoding="utf-8")]
    total = args.requests or len(sentences)
    url = urllib.parse.urlparse(args.url)
    lock = threading.Lock()
    next_index = [0]
    latencies, errors, results = [], [], [None] * total
    memory = []
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.is_set():
            memory.append((time.monotonic(), rss_kib(args.pid)))
            stop_sampling.wait(0.2)

    def client():
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        while True:
            with lock:
                index = next_index[0]
                if index >= total or time.monotonic() - started > args.timeout:
                    break
                next_index[0] += 1
            body = json.dumps({"q": sentences[index % len(sentences)], "split": False})
            begin = time.monotonic()
            try:
                connection.request("POST", "/v1/translate", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                data = response.read()
                elapsed = time.monotonic() - begin
                if response.status != 200:
                    with lock:
                        errors.append(f"{response.status}: {data[:200]!r}")
                    continue
                text = json.loads(data)["translations"][0]["text"]
                with lock:
                    latencies.append(elapsed)
                    results[index] = text
            except Exception as error:  # a refused or broken connection counts as an error
                with lock:
                    errors.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        connection.close()

    sampler = threading.Thread(target=sample, daemon=True) if args.pid else None
    if sampler:
        sampler.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    stop_sampling.set()

    report = {"requests": total, "answered": len(latencies), "errors": len(errors), "first_errors": errors[:3],
              "clients": args.clients, "seconds": round(seconds, 3), "requests_per_second": round(len(latencies) / seconds, 2)}
    if latencies:
        report.update(latency_ms={"p50": round(1000 * percentile(latencies, 0.5), 1), "p90": round(1000 * percentile(latencies, 0.9), 1),
                                  "p99": round(1000 * percentile(latencies, 0.99), 1), "max": round(1000 * max(latencies), 1)})
    if memory:
        span = memory[-1][0] - memory[0][0] or 1
        quarters = [[kib for at, kib in memory if q * span / 4 <= at - memory[0][0] < (q + 1) * span / 4 or (q == 3 and at == memory[-1][0])]
                    for q in range(4)]
        means = [statistics.mean(q) / 1024 if q else None for q in quarters]
        report["rss_mib_per_quarter"] = [round(m, 1) if m else None for m in means]
        if means[0] and means[3]:
            report["rss_growth_first_to_last_quarter"] = round(means[3] / means[0] - 1, 4)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as output:
            for text in results:
                output.write((text if text is not None else "<no answer>") + "\n")
    print(json.dumps(report))
    return 0 if not errors and len(latencies) == total else 1


if __name__ == "__main__":
    sys.exit(main())
