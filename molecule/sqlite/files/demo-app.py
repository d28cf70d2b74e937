"""Stands in for an application that keeps reading its database."""
import sqlite3
import time

while True:
    conn = sqlite3.connect("/srv/app/data/app.db", timeout=30)
    conn.execute("SELECT count(*) FROM items").fetchone()
    conn.close()
    time.sleep(1)
