//! The Synapse harness itself (issue 6's Matrix tests build on it): a real
//! homeserver starts on a free loopback port, takes shared-secret
//! registrations, refuses a name twice, and is gone once killed.

use ipt_tests::synapse::Synapse;

#[test]
fn test_synapse_starts_registers_users_and_stops() {
    let Some(mut synapse) = Synapse::start() else {
        return;
    };
    assert_eq!(
        synapse.register("ipt-bot", "bot-password-1", false),
        "@ipt-bot:localhost"
    );
    synapse.register("moderator", "mod-password-1", true);
    let again = std::panic::catch_unwind(|| synapse.register("ipt-bot", "other", false));
    assert!(again.is_err(), "a name is taken once");
    let port: u16 = synapse
        .base_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    synapse.kill();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
