"""Benchmark (not a test): prune against `find -mtime +N -delete` and against ansible.builtin.find plus
ansible.builtin.file in a loop.

Lays out --files files, one per hour back in time (so about half are older than --days days), and prints in one run
the wall time of each way of deleting the old ones on an identical copy (best of two rounds):
  - `find DIR -type f -mtime +N -delete` (the baseline);
  - the prune module, as Ansible runs it (a Python process reading JSON arguments);
  - a playbook with ansible.builtin.find then ansible.builtin.file in a loop, run on --loop-files files and
    scaled to --files (the loop's cost grows with each file; running it on 20,000 would take most of an hour).
Targets: prune at most 1.5 times the find baseline.

Usage: python bench/prune.py [--files 20000] [--days 417] [--loop-files 500]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import collections_path, run_module, timed

PLAYBOOK = """
- name: Retention the way it is often written
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Find the old files
      ansible.builtin.find:
        paths: "{{ folder }}"
        age: "{{ days }}d"
      register: old
    - name: Delete them
      ansible.builtin.file:
        path: "{{ item.path }}"
        state: absent
      loop: "{{ old.files }}"
"""


def lay_out(folder, count):
    os.makedirs(folder)
    now = time.time()
    for number in range(count):
        path = os.path.join(folder, "app-%05d.log" % number)
        with open(path, "wb") as handle:
            handle.write(b"x" * 512)
        moment = now - number * 3600 - 1800
        os.utime(path, (moment, moment))


def remaining(folder):
    return len(os.listdir(folder))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--days", type=int, default=417)
    parser.add_argument("--loop-files", type=int, default=500)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="upkeep-bench-", dir="/var/tmp")
    try:
        collections = collections_path(tmp)
        # Each way runs twice on fresh copies, alternating, after the file system has settled; the best time counts.
        baseline, module = float("inf"), float("inf")
        for round_number in range(2):
            for name in ("find", "prune"):
                shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
                lay_out(os.path.join(tmp, name), args.files)
            subprocess.run(["sync"], check=True)
            baseline = min(baseline, timed(
                ["find", os.path.join(tmp, "find"), "-type", "f", "-mtime", "+%d" % args.days, "-delete"]))
            subprocess.run(["sync"], check=True)
            seconds, result = run_module(collections, "prune", path=os.path.join(tmp, "prune"),
                                         age="%dd" % (args.days + 1), min_keep=0)
            module = min(module, seconds)
        loop_folder = os.path.join(tmp, "loop")
        lay_out(loop_folder, args.loop_files)
        playbook = os.path.join(tmp, "loop.yml")
        with open(playbook, "w") as handle:
            handle.write(PLAYBOOK)
        loop = timed([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                      "-e", "folder=" + loop_folder, "-e", "days=%d" % (args.days * args.loop_files // args.files),
                      playbook], stdout=subprocess.DEVNULL)
        loop_deleted = args.loop_files - remaining(loop_folder)
        scaled = loop * args.files / args.loop_files

        print("find -mtime +%d -delete                        %7.2f s  (baseline), %d of %d files left" % (
            args.days, baseline, remaining(os.path.join(tmp, "find")), args.files))
        print("prune module                                   %7.2f s  ratio %.2f (target <= 1.5), %d of %d left, %d deleted" % (
            module, module / baseline, remaining(os.path.join(tmp, "prune")), args.files, result["counts"]["pruned"]))
        print("find + file loop, %d files (%d deleted)       %7.2f s  scaled to %d files: %.0f s, ratio %.0f against prune" % (
            args.loop_files, loop_deleted, loop, args.files, scaled, scaled / module))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
