//! The connection pool's figures as Prometheus gauges, for `/metrics`.

use super::PgStore;
use crate::store::EngineMetric;

impl PgStore {
    pub(super) fn metrics(&self) -> Vec<EngineMetric> {
        let gauge = |name, help, value: f64| EngineMetric {
            name,
            help,
            labels: Vec::new(),
            value,
        };
        vec![
            gauge(
                "gatehouse_pg_pool_connections",
                "PostgreSQL connections open in this instance's pool",
                f64::from(self.pool.size()),
            ),
            gauge(
                "gatehouse_pg_pool_idle_connections",
                "PostgreSQL connections idle in this instance's pool",
                self.pool.num_idle() as f64,
            ),
        ]
    }
}
