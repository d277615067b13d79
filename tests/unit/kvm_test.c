/*
 * The kvm backend: the guest's page tables enforce the measured layout
 * (checked by walking them, no KVM needed), the same image has the same
 * MRENCLAVE on sim, process and kvm, and an enclave that touches memory
 * outside its layout, writes its own code or executes its heap or the
 * marshalling buffer is stopped with the faulting address reported while
 * the application, the daemon and other enclaves go on.  The cases that run
 * an enclave on kvm skip where the backend's probe guest does not run
 * (ady_kvm_probe), and then the whole test exits 77 with its reason.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adyton/host.h"
#include "adyton/image.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/kvm/kvm.h"
#include "../enclaves/testenc.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/testenc.signed"

/* Whether the kvm backend runs here (its probe guest, once), and why not. */
static char kvm_why[256];
static int kvm_state; /* 0 unknown, 1 works, -1 does not */

static bool kvm_works(void)
{
	if (!kvm_state)
		kvm_state = ady_kvm_probe(kvm_why, sizeof(kvm_why)) == ADY_OK ? 1 : -1;
	return kvm_state > 0;
}

static ady_image *image(void)
{
	ady_image *img = NULL;

	assert_int_equal(ady_image_open(IMAGE, &img), ADY_OK);
	return img;
}

/* ---- page tables, walked in software ---- */

typedef struct {
	const uint8_t *ro;
	uint64_t ro_size;
	uint64_t pages, w_and_x, pt_mapped;
} walk_stats;

static const ady_region *region_at(const ady_layout *l, uint64_t off)
{
	for (uint32_t i = 0; i < l->nregions; i++)
		if (off >= l->region[i].offset && off < l->region[i].offset + l->region[i].size)
			return &l->region[i];
	return NULL;
}

/* Visits every mapped 4 KiB page of the tree below the table at gpa. */
static void enumerate(walk_stats *s, const ady_kvm_plan *p, uint64_t table, unsigned level, uint64_t gva_hi)
{
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e, gva = gva_hi | (uint64_t)i << (12 + 9 * level);
		assert_true(table >= ADY_KVM_PLAT_GPA && table - ADY_KVM_PLAT_GPA + 4096 <= s->ro_size);
		/* Never in the read-only memslot: with nested paging the walk of a
		 * table there is an MMIO exit (issue 12). */
		assert_true(table >= ADY_KVM_PLAT_GPA + p->ro_size);
		memcpy(&e, s->ro + (table - ADY_KVM_PLAT_GPA) + 8 * i, 8);
		if (!(e & ADY_PTE_P))
			continue;
		/* accessed (and for leaves dirty) preset: the walker never writes */
		assert_true(e & ADY_PTE_A);
		if (level > 0) {
			enumerate(s, p, e & ADY_PTE_ADDR, level - 1, gva);
			continue;
		}
		assert_true(e & ADY_PTE_D);
		s->pages++;
		uint64_t gpa = e & ADY_PTE_ADDR, eff_gpa, flags;
		assert_true(ady_kvm_walk(s->ro, s->ro_size, gva, &eff_gpa, &flags));
		assert_int_equal(eff_gpa, gpa);
		if ((flags & ADY_PTE_W) && !(flags & ADY_PTE_NX))
			s->w_and_x++;
		/* no guest address reaches the page tables */
		if (gpa >= ady_kvm_pml4_gpa() && gpa < ADY_KVM_PLAT_GPA + s->ro_size)
			s->pt_mapped++;
	}
}

static void test_page_tables(void **state)
{
	ady_image *img = image();
	const ady_layout *l = &img->layout;
	ady_kvm_plan *p = calloc(1, sizeof(*p));
	walk_stats s = {0};
	uint64_t gpa, flags, code = ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE;
	uint8_t *ro;

	(void)state;
	assert_non_null(p);
	assert_int_equal(ady_kvm_plan_build(l, 46, p), ADY_OK);
	ro = calloc(1, p->plat_size);
	assert_non_null(ro);
	assert_int_equal(ady_kvm_platform_fill(p, ro), ADY_OK);
	s.ro = ro;
	s.ro_size = p->plat_size;
	/* the read-only memslot holds the GDT, IDT, TSSs and stubs only */
	assert_int_equal(p->ro_size, ADY_KVM_PT_PAGE * ADY_KVM_PAGE);
	assert_int_equal(p->pt_gpa, ADY_KVM_PLAT_GPA + p->ro_size);
	enumerate(&s, p, ady_kvm_pml4_gpa(), 3, 0);
	assert_int_equal(s.w_and_x, 0);
	assert_int_equal(s.pt_mapped, 0);

	/* Every enclave page: mapped iff added, with its SECINFO's rights. */
	for (uint64_t off = 0; off < l->size; off += ADY_KVM_PAGE) {
		const ady_region *r = region_at(l, off);
		bool mapped = ady_kvm_walk(ro, p->plat_size, ADY_KVM_ENCLAVE_GVA + off, &gpa, &flags);
		if (!r) {
			if (mapped)
				fail_msg("guard/tail page at offset 0x%llx is mapped", (unsigned long long)off);
			continue;
		}
		assert_true(mapped);
		assert_int_equal(gpa, p->enclave_gpa + off);
		if ((r->secinfo & ADY_SECINFO_PT_MASK) == ADY_SECINFO_PT_TCS) {
			assert_int_equal(flags, ADY_PTE_NX); /* read-only, not executable */
			continue;
		}
		assert_int_equal(!!(flags & ADY_PTE_W), !!(r->secinfo & ADY_SECINFO_W));
		assert_int_equal(!(flags & ADY_PTE_NX), !!(r->secinfo & ADY_SECINFO_X));
	}
	/* Nothing right below or above the enclave. */
	assert_false(ady_kvm_walk(ro, p->plat_size, ADY_KVM_ENCLAVE_GVA - ADY_KVM_PAGE, &gpa, &flags));
	assert_false(ady_kvm_walk(ro, p->plat_size, ADY_KVM_ENCLAVE_GVA + l->size, &gpa, &flags));
	/* The NULL page, the page tables, the slots' neighbours. */
	assert_false(ady_kvm_walk(ro, p->plat_size, 0, &gpa, &flags));
	assert_false(ady_kvm_walk(ro, p->plat_size, ady_kvm_pml4_gpa(), &gpa, &flags));
	assert_false(ady_kvm_walk(ro, p->plat_size, ADY_KVM_CTL_GVA - ADY_KVM_PAGE, &gpa, &flags));
	assert_false(ady_kvm_walk(ro, p->plat_size, ADY_KVM_CTL_GVA + p->ms_size, &gpa, &flags));
	/* The channel (control page, then the slots): read/write, never
	 * executable. */
	assert_int_equal(p->ms_size, ady_chan_size(p->threads, p->msbuf_size));
	assert_int_equal(ADY_KVM_MS_GVA - ADY_KVM_CTL_GVA, ADY_CHAN_CTL_SIZE);
	for (uint64_t off = 0; off < p->ms_size; off += ADY_KVM_PAGE) {
		assert_true(ady_kvm_walk(ro, p->plat_size, ADY_KVM_CTL_GVA + off, &gpa, &flags));
		assert_int_equal(gpa, p->ms_gpa + off);
		assert_int_equal(flags, ADY_PTE_W | ADY_PTE_NX);
	}
	/* The guest's counter page (backend/hostmain.h page 1): read/write,
	 * never executable, its own memslot, unmapped pages around it. */
	assert_true(ady_kvm_walk(ro, p->plat_size, ADY_KVM_COUNTS_GVA, &gpa, &flags));
	assert_int_equal(gpa, p->counts_gpa);
	assert_int_equal(flags, ADY_PTE_W | ADY_PTE_NX);
	assert_true(p->counts_gpa >= p->ms_gpa + p->ms_size && p->counts_gpa + ADY_KVM_PAGE <= p->enclave_gpa);
	assert_false(ady_kvm_walk(ro, p->plat_size, ADY_KVM_COUNTS_GVA - ADY_KVM_PAGE, &gpa, &flags));
	assert_false(ady_kvm_walk(ro, p->plat_size, ADY_KVM_COUNTS_GVA + ADY_KVM_PAGE, &gpa, &flags));
	/* Platform: GDT/IDT/TSS read-only data, the stubs read-only code,
	 * each vCPU's stacks writable data with unmapped guards. */
	assert_true(ady_kvm_walk(ro, p->plat_size, ADY_KVM_PLAT_GPA, &gpa, &flags));
	assert_int_equal(flags, ADY_PTE_NX);
	assert_true(ady_kvm_walk(ro, p->plat_size, ADY_KVM_PLAT_GPA + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE, &gpa, &flags));
	assert_int_equal(flags, ADY_PTE_NX);
	assert_true(ady_kvm_walk(ro, p->plat_size, code, &gpa, &flags));
	assert_int_equal(flags, 0);
	assert_memory_equal(ro + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE, ady_kvm_guest_start,
			    (size_t)(ady_kvm_guest_end - ady_kvm_guest_start));
	for (uint32_t i = 0; i < p->threads; i++) {
		assert_true(ady_kvm_walk(ro, p->plat_size, ady_kvm_scratch_top(p, i) - 8, &gpa, &flags));
		assert_int_equal(flags, ADY_PTE_W | ADY_PTE_NX);
		assert_false(ady_kvm_walk(ro, p->plat_size, ady_kvm_scratch_top(p, i), &gpa, &flags));
		assert_true(ady_kvm_walk(ro, p->plat_size, ady_kvm_exc_top(p, i) - 8, &gpa, &flags));
		assert_int_equal(flags, ADY_PTE_W | ADY_PTE_NX);
		assert_false(ady_kvm_walk(ro, p->plat_size, ady_kvm_exc_top(p, i) - 2 * ADY_KVM_PAGE, &gpa, &flags));
		/* IST1 of vCPU i is its exception stack */
		uint64_t ist;
		memcpy(&ist, ro + ADY_KVM_TSS_PAGE * ADY_KVM_PAGE + i * ADY_KVM_TSS_SIZE + 0x24, 8);
		assert_int_equal(ist, ady_kvm_exc_top(p, i));
	}
	/* IDT gate 14 points at stub 14, on IST 1, present, DPL 0. */
	uint64_t lo, hi, off;
	memcpy(&lo, ro + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE + 16 * 14, 8);
	memcpy(&hi, ro + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE + 16 * 14 + 8, 8);
	off = (lo & 0xffff) | ((lo >> 48) & 0xffff) << 16 | hi << 32;
	assert_int_equal(off, code + (uint64_t)(ady_kvm_guest_vectors - ady_kvm_guest_start) + 14 * ADY_KVM_VECTOR_STUB);
	assert_int_equal((lo >> 32) & 0xff, 1);
	assert_int_equal((lo >> 40) & 0xff, 0x8e);
	free(ro);
	free(p);
	ady_image_free(img);
}

static void test_plan_limits(void **state)
{
	ady_image *img = image();
	ady_kvm_plan *p = calloc(1, sizeof(*p));
	ady_layout l = img->layout;

	(void)state;
	assert_non_null(p);
	l.size = ADY_KVM_MAX_ENCLAVE * 2;
	assert_int_equal(ady_kvm_plan_build(&l, 46, p), ADY_ERR_LAYOUT);
	l = img->layout;
	l.threads = 0;
	assert_int_equal(ady_kvm_plan_build(&l, 46, p), ADY_ERR_LAYOUT);
	/* guest-physical memory that does not fit the address width */
	assert_int_equal(ady_kvm_plan_build(&img->layout, 32, p), ADY_OK);
	l = img->layout;
	l.region[l.nregions - 1].size = 1ull << 33;
	assert_int_equal(ady_kvm_plan_build(&l, 32, p), ADY_ERR_LAYOUT);
	free(p);
	ady_image_free(img);
}

/* ---- one image, one identity, on every backend ---- */

static ady_enclave *open_on(ady_backend b)
{
	ady_enclave_opts opts = {.backend = b};
	ady_enclave *e = NULL;
	ady_err err = ady_enclave_open(IMAGE, &opts, &e);

	if (err)
		fail_msg("ady_enclave_open(%s): %s", ady_backend_name(b), ady_strerror(err));
	return e;
}

static void test_same_mrenclave(void **state)
{
	ady_backend all[] = {ADY_BACKEND_SIM, ADY_BACKEND_PROCESS, ADY_BACKEND_KVM};
	size_t nb = kvm_works() ? 3 : 2;
	ady_image *img = image();

	(void)state;
	if (nb == 2)
		print_message("%s: comparing sim and process only\n", kvm_why);
	for (size_t i = 0; i < nb; i++) {
		ady_enclave *e = open_on(all[i]);
		ady_enclave_info info;
		uint8_t report[432];
		size_t n = 0;

		ady_enclave_get_info(e, &info);
		assert_int_equal(info.backend, all[i]);
		/* the library, adytond and the enclave host each measured it
		 * and had to agree for the launch to succeed */
		assert_memory_equal(info.mrenclave, img->mrenclave, 32);
		/* and the enclave reports the identity it runs as */
		assert_int_equal(ady_ecall(e, T_SELF_REPORT, NULL, 0, report, sizeof(report), &n), ADY_OK);
		assert_int_equal(n, sizeof(report));
		assert_memory_equal(report + offsetof(ady_sgx_report_body, mrenclave), img->mrenclave, 32);
		ady_enclave_close(e);
	}
	ady_image_free(img);
}

/* auto picks kvm exactly where its probe passes (then process), and kvm
 * by name fails at once with the probe's reason where it does not. */
static void test_auto_and_reason(void **state)
{
	const char *env = getenv("ADYTON_BACKEND"), *why = NULL;
	char *saved = env ? strdup(env) : NULL;
	ady_enclave_opts opts = {.backend = ADY_BACKEND_KVM};
	ady_enclave *e = NULL;
	ady_enclave_info info;

	(void)state;
	unsetenv("ADYTON_BACKEND");
	assert_int_equal(ady_backend_available(ADY_BACKEND_KVM, &why), kvm_works());
	if (kvm_works()) {
		assert_null(why);
	} else {
		assert_non_null(why);
		assert_string_equal(why, kvm_why);
		assert_non_null(strstr(why, "KVM"));
		assert_int_equal(ady_enclave_open(IMAGE, &opts, &e), ADY_ERR_BACKEND);
		assert_null(e);
	}
	e = open_on(ADY_BACKEND_AUTO);
	ady_enclave_get_info(e, &info);
	assert_int_equal(info.backend, kvm_works() ? ADY_BACKEND_KVM : ADY_BACKEND_PROCESS);
	ady_enclave_close(e);
	if (saved) {
		setenv("ADYTON_BACKEND", saved, 1);
		free(saved);
	}
}

/* ---- isolation on kvm ---- */

static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Whether adytond's log (ADYTON_DAEMON_LOG) has a line with reason in it:
 * the enclave host's own (its stderr is the daemon's) and, with
 * adytond -v, the daemon's when the host reports the stop; waited for 5 s. */
static bool daemon_logged(const char *reason)
{
	const char *path = getenv("ADYTON_DAEMON_LOG");

	if (!path)
		fail_msg("ADYTON_DAEMON_LOG is not set");
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(path, "r");
		char line[1024];
		bool found = false;

		while (f && !found && fgets(line, sizeof(line), f))
			found = (strstr(line, "aborted: ") || strstr(line, "enclave stopped: ")) && strstr(line, reason);
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(50000);
	}
	return false;
}

/*
 * Runs ECALL index with an address on a fresh kvm enclave and checks: the
 * call fails with ADY_ERR_ABORTED, the abort reason names the vector and
 * the address, adytond logged it, the enclave stays stopped, and a bystander enclave and the
 * daemon (a new launch) are fine.
 */
static void expect_stopped(ady_enclave *victim, uint32_t index, uint64_t addr, unsigned vector, uint64_t fault)
{
	ady_enclave *bystander = open_on(ADY_BACKEND_KVM), *later;
	uint8_t in[8], out[16];
	char want[64];
	const char *why;
	size_t n;

	put_u64(in, addr);
	assert_int_equal(ady_ecall(victim, index, in, sizeof(in), out, sizeof(out), &n), ADY_ERR_ABORTED);
	why = ady_enclave_abort_reason(victim);
	assert_non_null(why);
	print_message("stopped: %s\n", why);
	snprintf(want, sizeof(want), "vector %u ", vector);
	assert_non_null(strstr(why, want));
	snprintf(want, sizeof(want), "address 0x%llx,", (unsigned long long)fault);
	assert_non_null(strstr(why, want));
	assert_non_null(strstr(why, " at RIP 0x"));
	assert_non_null(strstr(why, "error code 0x"));
	if (!daemon_logged(why))
		fail_msg("adytond's log has no line with \"%s\"", why);
	/* stopped for good */
	assert_int_equal(ady_ecall(victim, T_ECHO, "x", 1, out, sizeof(out), &n), ADY_ERR_ABORTED);
	/* the others go on */
	assert_int_equal(ady_ecall(bystander, T_ECHO, "ok", 2, out, sizeof(out), &n), ADY_OK);
	assert_memory_equal(out, "ok", 2);
	later = open_on(ADY_BACKEND_KVM);
	assert_int_equal(ady_ecall(later, T_ECHO, "ok", 2, out, sizeof(out), &n), ADY_OK);
	ady_enclave_close(later);
	ady_enclave_close(bystander);
	ady_enclave_close(victim);
}

static ady_enclave *victim_or_skip(void)
{
	if (!kvm_works()) {
		print_message("SKIP: %s\n", kvm_why);
		skip();
	}
	return open_on(ADY_BACKEND_KVM);
}

static void test_write_outside_layout(void **state)
{
	(void)state;
	ady_enclave *e = victim_or_skip();
	expect_stopped(e, T_WILD, 0x10, 14, 0x10); /* the NULL page */
}

static void test_read_outside_layout(void **state)
{
	ady_image *img = image();
	uint64_t past = ADY_KVM_ENCLAVE_GVA + img->layout.size + 0x40;
	uint64_t guard = ADY_KVM_ENCLAVE_GVA + img->layout.layout_page + ADY_KVM_PAGE + 0x8;

	(void)state;
	ady_image_free(img);
	expect_stopped(victim_or_skip(), T_READ, past, 14, past);
	expect_stopped(victim_or_skip(), T_READ, guard, 14, guard); /* the guard after the layout page */
}

static void test_write_own_code(void **state)
{
	ady_enclave *e;
	uint8_t out[16];
	size_t n;

	(void)state;
	e = victim_or_skip();
	assert_int_equal(ady_ecall(e, T_WHERE, NULL, 0, out, sizeof(out), &n), ADY_OK);
	expect_stopped(e, T_WILD, get_u64(out), 14, get_u64(out));
}

static void test_exec_heap(void **state)
{
	ady_enclave *e;
	uint8_t out[16];
	size_t n;

	(void)state;
	e = victim_or_skip();
	assert_int_equal(ady_ecall(e, T_WHERE, NULL, 0, out, sizeof(out), &n), ADY_OK);
	expect_stopped(e, T_JUMP, get_u64(out + 8), 14, get_u64(out + 8));
}

static void test_exec_msbuf(void **state)
{
	/* slot 0's data area: it holds the ECALL's input right now */
	uint64_t target = ADY_KVM_MS_GVA + 64;

	(void)state;
	expect_stopped(victim_or_skip(), T_JUMP, target, 14, target);
}

/* A stop that is no exception: the guest halts (here in the platform's
 * own trampoline, which is executable).  The reason still says where,
 * reaches the application and adytond's log, and the host stays up. */
static void test_halt(void **state)
{
	uint64_t hlt = ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE +
		       (uint64_t)(ady_kvm_guest_return - ady_kvm_guest_start) + 2; /* past out %al, $imm8 */
	ady_enclave *e = victim_or_skip(), *later;
	uint8_t in[8], out[16];
	char want[64];
	const char *why;
	size_t n;

	(void)state;
	put_u64(in, hlt);
	assert_int_equal(ady_ecall(e, T_JUMP, in, sizeof(in), out, sizeof(out), &n), ADY_ERR_ABORTED);
	why = ady_enclave_abort_reason(e);
	assert_non_null(why);
	print_message("stopped: %s\n", why);
	snprintf(want, sizeof(want), "halted at RIP 0x%llx", (unsigned long long)hlt + 1);
	if (!strstr(why, want))
		fail_msg("\"%s\" does not say \"%s\"", why, want);
	if (!daemon_logged(why))
		fail_msg("adytond's log has no line with \"%s\"", why);
	assert_int_equal(ady_ecall(e, T_ECHO, "x", 1, out, sizeof(out), &n), ADY_ERR_ABORTED);
	later = open_on(ADY_BACKEND_KVM);
	assert_int_equal(ady_ecall(later, T_ECHO, "ok", 2, out, sizeof(out), &n), ADY_OK);
	ady_enclave_close(later);
	ady_enclave_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_tables),
		cmocka_unit_test(test_plan_limits),
		cmocka_unit_test(test_same_mrenclave),
		cmocka_unit_test(test_auto_and_reason),
		cmocka_unit_test(test_write_outside_layout),
		cmocka_unit_test(test_read_outside_layout),
		cmocka_unit_test(test_write_own_code),
		cmocka_unit_test(test_exec_heap),
		cmocka_unit_test(test_exec_msbuf),
		cmocka_unit_test(test_halt),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	/* The cases without KVM passed, the others could not run: skipped
	 * (77), with the probe's reason, so a machine whose KVM cannot run
	 * the backend shows it instead of a pass. */
	if (rc == 0 && !kvm_works()) {
		fprintf(stderr, "SKIP: /dev/kvm: %s\n", kvm_why);
		return 77;
	}
	return rc;
}
