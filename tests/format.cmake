# Unit tests of the format layer (src/format).
ady_unit_test(cursor_test adyton-format)
ady_unit_test(error_test adyton-format)
ady_unit_test(config_test adyton-format)
ady_unit_test(sgx_test adyton-format)
ady_unit_test(meta_test adyton-format)
ady_unit_test(elf_test adyton-format)
ady_unit_test(layout_test adyton-format)
ady_unit_test(measure_test adyton-format OpenSSL::Crypto)
