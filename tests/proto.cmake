# Unit tests of the adytond wire protocol and policy (src/format/proto.c, policy.c).
ady_unit_test(proto_test adyton-format)
ady_unit_test(policy_test adyton-format)
