"""examples/persona-yaml in Python: a stack CA, a persona, an agent bootstrapped over SSH on one host, and the
persona attached to it, through the provider plugin pulumi-resource-netpersona and the generated SDK
pulumi_netpersona. The provider checks every field in preview, so a bad value (mtu 100000, congestion control
"vegas") fails `pulumi preview` naming it, before anything touches the host."""

from pathlib import Path

import pulumi
import pulumi_netpersona as netpersona

config = pulumi.Config()
agent_dir = config.require("agentDir")

ca = netpersona.StackCa("ca")

# The Persona resource validates and reviews the fields; the attachment applies its normalised definition.
web = netpersona.Persona(
    "web",
    persona_name="web",
    congestion_control=config.get("congestionControl") or netpersona.CongestionControl.BBR,
    mtu=config.get_int("mtu") or 1400,
    qos=netpersona.QosArgs(class_=netpersona.QosClass.LOW_LATENCY_DATA),
)

agent = netpersona.Agent(
    "agent",
    connection=netpersona.ConnectionArgs(
        host=config.require("host"),
        port=config.get_int("sshPort") or 22,
        user=config.get("sshUser") or "root",
        private_key=pulumi.Output.secret(Path(config.require("sshPrivateKeyPath")).read_text()),
        host_key=config.require("hostKey"),
    ),
    ca_cert_pem=ca.cert_pem,
    ca_key_pem=ca.key_pem,
    client_cert_pem=ca.client_cert_pem,
    client_key_pem=ca.client_key_pem,
    install_dir=f"{agent_dir}/opt",
    state_dir=f"{agent_dir}/state",
    resolv_conf_path=config.get("resolvConfPath") or "/etc/resolv.conf",
)

attachment = netpersona.PersonaAttachment(
    "attachment",
    endpoint=agent.endpoint,
    ca_cert_pem=ca.cert_pem,
    client_cert_pem=ca.client_cert_pem,
    client_key_pem=ca.client_key_pem,
    persona=web.definition,
)

pulumi.export("summary", web.summary)
pulumi.export("live", attachment.live)
pulumi.export("hostname", attachment.agent_hostname)
