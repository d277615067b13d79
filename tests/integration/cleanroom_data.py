#!/usr/bin/env python3
"""The clean room test's data and its known answers (cleanroom_test.sh).

    cleanroom_data.py DIR

Writes, deterministically (a fixed seed):
  DIR/adnet.csv   impressions (user, campaign) of provider adnet
  DIR/shop.csv    purchases (user, product, amount) of provider shop
  DIR/bad-*.csv   malformed uploads (each with the good rows before the bad one)
  DIR/queries     one query per line
  DIR/expect.N    the answer expected for query N (1-based), computed here
                  from the rows with sets, independently of the enclave's code
  DIR/user7       the hashed id of the one user who saw "solo" (for the single-out attempt)
"""
import hashlib
import os
import random
import sys

K = 10


def uid(i):
    return hashlib.sha256(b"cleanroom-test-user-%d" % i).hexdigest()


def main():
    out = sys.argv[1]
    rnd = random.Random(16)
    imp = []  # (user, campaign)
    pur = []  # (user, product, cents)

    # adnet knows users 0..1599; a user with no impression has no row.
    for i in range(1600):
        u = uid(i)
        if rnd.random() < 0.3:
            imp.append((u, "spring"))
            if rnd.random() < 0.5:  # seen twice: a duplicate row
                imp.append((u, "spring"))
        if rnd.random() < 0.5:
            imp.append((u, "winter"))
        if 1010 <= i < 1015:
            imp.append((u, "tiny"))  # 5 users, under k
    imp.append((uid(707), "solo"))  # one user
    rnd.shuffle(imp)

    # shop knows users 400..1999; every one of them bought something.
    spring = {u for u, c in imp if c == "spring"}
    for i in range(400, 2000):
        u = uid(i)
        p_shoes = 0.35 if u in spring else 0.2
        bought = False
        if rnd.random() < p_shoes:
            pur.append((u, "shoes", rnd.randrange(1000, 20000)))
            bought = True
        if rnd.random() < 0.3 or not bought:
            pur.append((u, "socks", rnd.randrange(100, 2000)))
        if i in (450, 451, 452):
            pur.append((u, "rare", 99999))  # 3 buyers, under k
    rnd.shuffle(pur)

    def amount(c):
        return "%d.%02d" % (c // 100, c % 100) if c % 3 else "%d" % (c // 100)

    imp_csv = "user,campaign\n" + "".join("%s,%s\n" % r for r in imp)
    pur_csv = "user,product,amount\n" + "".join("%s,%s,%s\n" % (u, p, amount(c)) for u, p, c in pur)
    with open(os.path.join(out, "adnet.csv"), "w") as f:
        f.write(imp_csv)
    with open(os.path.join(out, "shop.csv"), "w") as f:
        f.write(pur_csv)

    # Malformed uploads: the good rows, then rows that would change the
    # answers (500 more spring viewers), then one bad line.
    extra = "".join("%s,spring\n" % uid(i) for i in range(400, 900))
    bad = {
        "bad-user": imp_csv + extra + uid(3)[:63] + ",spring\n",
        "bad-fields": imp_csv + extra + uid(3) + ",spring,extra\n",
        "bad-header": "user,campaign,extra\n" + imp_csv[len("user,campaign\n"):],
        "bad-crlf": imp_csv.replace("\n", "\r\n"),
        "bad-name": imp_csv + extra + uid(3) + ",spr ing\n",
        "bad-nolf": imp_csv + extra + uid(3) + ",spring",
        "bad-kind": pur_csv,
        "bad-amount": pur_csv + uid(3) + ",shoes,1.5\n",
        "bad-empty": "user,campaign\n",
    }
    for name, text in bad.items():
        with open(os.path.join(out, name + ".csv"), "w") as f:
            f.write(text)

    # The known answers, from sets.
    imp_users = {u for u, _ in imp}
    pur_users = {u for u, _, _ in pur}
    matched = imp_users & pur_users
    n = len(matched)

    def saw(c):
        return {u for u, cc in imp if cc == c} & matched

    def bought(p):
        return {u for u, pp, _ in pur if pp == p} & matched

    def val(shown, v):
        return str(v) if shown else "suppressed"

    def ppm(shown, v):
        if not shown:
            return "suppressed"
        sign = "-" if v < 0 else ""
        v = abs(v)
        return "%s%d.%06d" % (sign, v // 1000000, v % 1000000)

    def count(seg):
        lines = ["matched: " + val(n >= K, n)]
        if seg is not None:
            s = len(seg)
            lines.append("segment: " + val(s >= K and n - s >= K, s))
        return "\n".join(lines) + "\n"

    def lift(c, p):
        t_set, b_set = saw(c), bought(p)
        t = len(t_set)
        ctl = n - t
        tb = len(t_set & b_set)
        cb = len(b_set - t_set)
        groups = n >= K and t >= K and ctl >= K
        cells = groups and min(tb, t - tb, cb, ctl - cb) >= K
        lift_ppm = (tb * ctl * 1000000) // (t * cb) - 1000000 if cells else 0
        return "".join([
            "matched: %s\n" % val(n >= K, n),
            "target: %s\n" % val(groups, t),
            "control: %s\n" % val(groups, ctl),
            "target_buyers: %s\n" % val(cells, tb),
            "control_buyers: %s\n" % val(cells, cb),
            "target_rate: %s\n" % ppm(cells, tb * 1000000 // t if cells else 0),
            "control_rate: %s\n" % ppm(cells, cb * 1000000 // ctl if cells else 0),
            "lift: %s\n" % ppm(cells, lift_ppm),
        ])

    queries = [
        ("count", count(None)),
        ("count campaign=spring", count(saw("spring"))),
        ("count campaign=winter", count(saw("winter"))),
        ("count product=shoes", count(bought("shoes"))),
        ("lift campaign=spring product=shoes", lift("spring", "shoes")),
        ("lift campaign=winter product=shoes", lift("winter", "shoes")),
        ("lift campaign=spring product=socks", lift("spring", "socks")),
        ("count campaign=tiny", count(saw("tiny"))),
        ("count campaign=solo", count(saw("solo"))),
        ("count product=rare", count(bought("rare"))),
        ("lift campaign=solo product=shoes", lift("solo", "shoes")),
        ("lift campaign=spring product=rare", lift("spring", "rare")),
        ("count campaign=nobody-saw-this", count(saw("nobody-saw-this"))),
    ]
    with open(os.path.join(out, "queries"), "w") as f:
        for q, _ in queries:
            f.write(q + "\n")
    for i, (_, e) in enumerate(queries, 1):
        with open(os.path.join(out, "expect.%d" % i), "w") as f:
            f.write(e)
    with open(os.path.join(out, "user7"), "w") as f:
        f.write(uid(707) + "\n")

    # The test relies on these shapes of the data; say so if they change.
    assert 0 < len(saw("tiny")) < K and len(saw("solo")) == 1 and 0 < len(bought("rare")) < K
    assert "suppressed" not in lift("spring", "shoes")


main()
