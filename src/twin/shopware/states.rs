//! Shopware's state machines: the exact transition tables of `order.state`,
//! `order_delivery.state` and `order_transaction.state` (SHOPWARE.md §6, from
//! Migration1536233560BasicData and the reopen/retour migrations), and the
//! `state_machine_state` rows the twin seeds with stable ids.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::store::{Row, Store};

/// A state machine of the twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// `order.state`
    pub technical_name: &'static str,
    /// The entity it belongs to (`order_delivery`).
    pub entity: &'static str,
    pub initial: &'static str,
    pub states: &'static [&'static str],
    /// (action, from states, to state)
    pub transitions: &'static [(&'static str, &'static [&'static str], &'static str)],
}

pub const ORDER: Machine = Machine {
    technical_name: "order.state",
    entity: "order",
    initial: "open",
    states: &["open", "in_progress", "completed", "cancelled"],
    transitions: &[
        ("process", &["open"], "in_progress"),
        ("complete", &["in_progress"], "completed"),
        ("cancel", &["open", "in_progress"], "cancelled"),
        ("reopen", &["cancelled", "completed"], "open"),
    ],
};

pub const DELIVERY: Machine = Machine {
    technical_name: "order_delivery.state",
    entity: "order_delivery",
    initial: "open",
    states: &[
        "open",
        "shipped",
        "shipped_partially",
        "returned",
        "returned_partially",
        "cancelled",
    ],
    transitions: &[
        ("ship", &["open", "shipped_partially"], "shipped"),
        ("ship_partially", &["open"], "shipped_partially"),
        (
            "retour",
            &["shipped", "shipped_partially", "returned_partially"],
            "returned",
        ),
        (
            "retour_partially",
            &["shipped", "shipped_partially"],
            "returned_partially",
        ),
        ("cancel", &["open", "shipped", "shipped_partially"], "cancelled"),
        (
            "reopen",
            &[
                "shipped",
                "shipped_partially",
                "returned",
                "returned_partially",
                "cancelled",
            ],
            "open",
        ),
    ],
};

pub const TRANSACTION: Machine = Machine {
    technical_name: "order_transaction.state",
    entity: "order_transaction",
    initial: "open",
    states: &[
        "open",
        "in_progress",
        "paid",
        "paid_partially",
        "authorized",
        "refunded",
        "refunded_partially",
        "cancelled",
        "reminded",
        "failed",
        "chargeback",
        "unconfirmed",
    ],
    transitions: &[
        (
            "do_pay",
            &[
                "open",
                "reminded",
                "paid_partially",
                "failed",
                "in_progress",
                "unconfirmed",
                "authorized",
            ],
            "in_progress",
        ),
        (
            "paid",
            &[
                "open",
                "reminded",
                "paid_partially",
                "in_progress",
                "failed",
                "cancelled",
                "authorized",
                "unconfirmed",
            ],
            "paid",
        ),
        (
            "pay",
            &[
                "open",
                "reminded",
                "paid_partially",
                "in_progress",
                "failed",
                "cancelled",
                "authorized",
                "unconfirmed",
            ],
            "paid",
        ),
        (
            "paid_partially",
            &["open", "reminded", "in_progress", "failed", "authorized", "unconfirmed"],
            "paid_partially",
        ),
        (
            "pay_partially",
            &["open", "reminded", "in_progress", "failed", "authorized", "unconfirmed"],
            "paid_partially",
        ),
        ("refund", &["paid", "paid_partially", "refunded_partially"], "refunded"),
        ("refund_partially", &["paid", "paid_partially"], "refunded_partially"),
        (
            "cancel",
            &["open", "reminded", "in_progress", "authorized", "unconfirmed", "failed"],
            "cancelled",
        ),
        ("remind", &["open", "in_progress"], "reminded"),
        (
            "fail",
            &["open", "in_progress", "reminded", "authorized", "unconfirmed"],
            "failed",
        ),
        (
            "authorize",
            &["open", "in_progress", "reminded", "unconfirmed"],
            "authorized",
        ),
        ("chargeback", &["paid", "paid_partially"], "chargeback"),
        (
            "reopen",
            &[
                "cancelled",
                "failed",
                "paid",
                "paid_partially",
                "refunded",
                "refunded_partially",
                "chargeback",
                "authorized",
                "reminded",
            ],
            "open",
        ),
        (
            "process_unconfirmed",
            &["open", "reminded", "failed", "cancelled"],
            "unconfirmed",
        ),
    ],
};

pub const MACHINES: [Machine; 3] = [ORDER, DELIVERY, TRANSACTION];

/// The machine for a URL entity segment of `/_action/{entity}/{id}/state/{action}`.
pub fn machine_for_entity(entity: &str) -> Option<Machine> {
    MACHINES.iter().copied().find(|m| m.entity == entity)
}

/// Stable id of a state row: the same on every run, like Shopware's migration ids are per install.
pub fn state_id(machine: &Machine, state: &str) -> String {
    let digest = Sha256::digest(format!("{}:{}", machine.technical_name, state).as_bytes());
    hex::encode(&digest[..16])
}

/// The initial state's id.
pub fn initial_state_id(machine: &Machine) -> String {
    state_id(machine, machine.initial)
}

/// Seeds the `state_machine_state` rows of all machines.
pub fn seed(store: &mut Store, created_at: &str) {
    for m in MACHINES {
        for s in m.states {
            let row: Row = json!({
                "id": state_id(&m, s),
                "technicalName": s,
                "name": display_name(s),
                "stateMachineId": hex::encode(&Sha256::digest(m.technical_name.as_bytes())[..16]),
                "customFields": null,
                "createdAt": created_at,
                "updatedAt": null,
                "apiAlias": "state_machine_state",
            })
            .as_object()
            .cloned()
            .expect("literal object");
            store.put("state_machine_state", row);
        }
    }
}

/// English display names as Shopware ships them ("In Progress", "Shipped (partially)", "Done").
fn display_name(s: &str) -> String {
    if s == "completed" {
        return "Done".into();
    }
    let (base, partial) = match s.strip_suffix("_partially") {
        Some(b) => (b, true),
        None => (s, false),
    };
    let mut out: Vec<String> = Vec::new();
    for word in base.split('_') {
        let mut c = word.chars();
        if let Some(f) = c.next() {
            out.push(f.to_uppercase().chain(c).collect());
        }
    }
    let mut name = out.join(" ");
    if partial {
        name.push_str(" (partially)");
    }
    name
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalTransition {
    pub action: String,
    pub from: String,
    pub possible: Vec<String>,
}

/// The target state of `action` from `from`, or why not.
pub fn target(machine: &Machine, from: &str, action: &str) -> Result<&'static str, IllegalTransition> {
    machine
        .transitions
        .iter()
        .find(|(a, froms, _)| *a == action && froms.contains(&from))
        .map(|(_, _, to)| *to)
        .ok_or_else(|| IllegalTransition {
            action: action.to_string(),
            from: from.to_string(),
            possible: possible(machine, from),
        })
}

/// Actions allowed from a state, in table order.
pub fn possible(machine: &Machine, from: &str) -> Vec<String> {
    machine
        .transitions
        .iter()
        .filter(|(_, froms, _)| froms.contains(&from))
        .map(|(a, _, _)| a.to_string())
        .collect()
}

/// The technical name of a state id, if it is one of ours.
pub fn technical_name(store: &Store, state_id: &str) -> Option<String> {
    store
        .get("state_machine_state", state_id)
        .and_then(|r| r.get("technicalName").and_then(Value::as_str).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_cannot_complete_from_open() {
        let e = target(&ORDER, "open", "complete").unwrap_err();
        assert_eq!(e.possible, vec!["process", "cancel"]);
        assert_eq!(target(&ORDER, "in_progress", "complete").unwrap(), "completed");
    }

    #[test]
    fn delivery_table_matches_shopware() {
        assert_eq!(target(&DELIVERY, "open", "ship").unwrap(), "shipped");
        assert_eq!(target(&DELIVERY, "shipped_partially", "ship").unwrap(), "shipped");
        assert!(target(&DELIVERY, "shipped", "ship").is_err());
        assert!(target(&DELIVERY, "shipped_partially", "ship_partially").is_err());
        assert_eq!(target(&DELIVERY, "cancelled", "reopen").unwrap(), "open");
        assert!(target(&DELIVERY, "open", "reopen").is_err());
    }

    #[test]
    fn state_ids_are_stable_and_distinct() {
        assert_eq!(state_id(&ORDER, "open"), state_id(&ORDER, "open"));
        assert_ne!(state_id(&ORDER, "open"), state_id(&DELIVERY, "open"));
        assert_eq!(state_id(&ORDER, "open").len(), 32);
        let mut s = Store::new();
        seed(&mut s, "2026-11-27T00:00:00.000+00:00");
        assert_eq!(s.len("state_machine_state"), 4 + 6 + 12);
        assert_eq!(
            technical_name(&s, &initial_state_id(&DELIVERY)).as_deref(),
            Some("open")
        );
        assert_eq!(display_name("shipped_partially"), "Shipped (partially)");
        assert_eq!(display_name("in_progress"), "In Progress");
    }
}
