# Names vulture cannot see used: public API and dataclass fields that users read, documented
# format constants, hooks called by the runtime. 'make lint' reports any other unused name.
__getattr__  # src/sealog/__init__.py
ARK_GUID  # src/sealog/attest/_snp.py
ASK_GUID  # src/sealog/attest/_snp.py
_.smt_allowed  # src/sealog/attest/_snp.py
_.migrate_ma  # src/sealog/attest/_snp.py
_.single_socket  # src/sealog/attest/_snp.py
user_data  # src/sealog/attest/_tdx.py
cpu_svn  # src/sealog/attest/_tdx.py
attributes  # src/sealog/attest/_tdx.py
pck  # src/sealog/attest/_tdx.py
_.handle  # src/sealog/keep/_handler.py
_flush_all  # src/sealog/keep/_host_channel.py
_.tick  # src/sealog/keep/_session.py: tests and embedders drive the rhythm by hand
FULL  # src/sealog/profile/_model.py
EVENTS_AND_CODES  # src/sealog/profile/_model.py
_.at_least_as_strict_as  # src/sealog/profile/_model.py
__getattr__  # src/sealog/seal/__init__.py
_.from_state  # src/sealog/seal/_frames.py
_.export_key_state  # src/sealog/seal/_frames.py
_.messages  # src/sealog/testing.py
_.launch_profile  # src/sealog/owner/viewer/_model.py: the templates read it
_.should_exit  # src/sealog/owner/viewer/_server.py: uvicorn's server reads it
