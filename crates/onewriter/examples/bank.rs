//! A small demonstration: 64 concurrent tasks moving money between accounts in one SQLite
//! file for a few seconds, then the engine's statistics.
//!
//! ```text
//! cargo run --release -p onewriter --example bank -- [PATH] [SECONDS]
//! ```

use std::time::{Duration, Instant};

use onewriter::rusqlite;
use onewriter::{Db, Options, Synchronous};

static MIGRATIONS: &[&str] = &[
    "CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE transfer (id INTEGER PRIMARY KEY, source INTEGER NOT NULL, target INTEGER NOT NULL, amount INTEGER NOT NULL)",
];

const ACCOUNTS: i64 = 1000;
const TASKS: i64 = 64;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "bank.db".into());
    let seconds: u64 = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("SECONDS must be a whole number, not {s:?}"))?,
        None => 3,
    };

    let options = Options::new()
        .synchronous(Synchronous::Full)
        .migrations(MIGRATIONS);
    let db = Db::open(&path, options).await?;
    db.write(|tx| {
        let mut insert =
            tx.prepare("INSERT OR IGNORE INTO account (id, balance) VALUES (?1, 1000)")?;
        for id in 1..=ACCOUNTS {
            insert.execute([id])?;
        }
        Ok::<_, rusqlite::Error>(())
    })
    .await?;

    println!("{TASKS} tasks moving money in {path} for {seconds} s (synchronous=FULL)…");
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut n = task;
            while Instant::now() < until {
                let (source, target) = (n % ACCOUNTS + 1, (n * 7 + 3) % ACCOUNTS + 1);
                n += TASKS;
                db.write(move |tx| {
                    let balance: i64 = tx
                        .prepare_cached("SELECT balance FROM account WHERE id = ?1")?
                        .query_row([source], |r| r.get(0))?;
                    let amount = balance.min(5);
                    tx.prepare_cached("UPDATE account SET balance = balance - ?1 WHERE id = ?2")?
                        .execute((amount, source))?;
                    tx.prepare_cached("UPDATE account SET balance = balance + ?1 WHERE id = ?2")?
                        .execute((amount, target))?;
                    tx.prepare_cached(
                        "INSERT INTO transfer (source, target, amount) VALUES (?1, ?2, ?3)",
                    )?
                    .execute((source, target, amount))
                })
                .await?;
                done += 1;
            }
            Ok::<_, onewriter::Error>(done)
        }));
    }
    let mut committed = 0;
    for t in tasks {
        committed += t.await??;
    }

    let total: i64 = db
        .read(|c| c.query_row("SELECT sum(balance) FROM account", [], |r| r.get(0)))
        .await?;
    let s = db.stats();
    db.close().await?;

    println!(
        "{committed} transfers committed: {:.0}/s",
        committed as f64 / seconds as f64
    );
    println!(
        "money in the bank: {total} (always {}: no transfer lost or half-applied)",
        ACCOUNTS * 1000
    );
    println!(
        "{} commits, batch size p50 {} max {}; write wait p50 {:?} p99 {:?}; busy waits {}; checkpoints {}",
        s.commits,
        s.batch_size.p50,
        s.batch_size.max,
        s.write_wait.p50,
        s.write_wait.p99,
        s.busy_waits,
        s.checkpoints
    );
    Ok(())
}
