/**
 * The cgroup v2 device controller is an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE. This generates it from device rules, as runc's
 * devicefilter does: the rules are first reduced by the emulator to a clean
 * list (a default, then exceptions), and each exception becomes a block that
 * returns the non-default verdict when type, access, major and minor match.
 *
 * The program reads struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
 * u32 minor; } where access_type is (access << 16) | type.
 */
import type { BpfInsn } from '../../linux/bpf.js';
import { Emulator, cgroupString, permSet } from '../devices.js';
import type { DeviceRule } from '../types.js';

export const LICENSE = 'Apache';

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT = 0x95; // BPF_JMP | BPF_EXIT

const BPF_DEVCG_DEV_BLOCK = 1;
const BPF_DEVCG_DEV_CHAR = 2;
const BPF_DEVCG_ACC_MKNOD = 1;
const BPF_DEVCG_ACC_READ = 2;
const BPF_DEVCG_ACC_WRITE = 4;

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5; // prettier-ignore

/** An instruction whose jump offset is resolved at the end: `next` jumps to the following block. */
type Pending = BpfInsn & { jumpNext?: boolean };

const insn = (code: number, dst: number, src: number, off: number, imm: number): Pending => ({
  code,
  dst,
  src,
  off,
  imm,
});

/** Generate the program for `rules` (in order, as the config and defaults give them). */
export function deviceFilter(rules: DeviceRule[]): BpfInsn[] {
  const emu = Emulator.fromRules(rules);
  const clean = emu.cleanRules();
  const defaultAllow = emu.isBlacklist();

  // r2 = type, r3 = access, r4 = major, r5 = minor.
  const prologue: Pending[] = [
    insn(LDX_MEM_W, R2, R1, 0, 0),
    insn(ALU32_AND_K, R2, 0, 0, 0xffff),
    insn(LDX_MEM_W, R3, R1, 0, 0),
    insn(ALU32_RSH_K, R3, 0, 0, 16),
    insn(LDX_MEM_W, R4, R1, 4, 0),
    insn(LDX_MEM_W, R5, R1, 8, 0),
  ];
  const blocks: Pending[][] = [];
  clean.forEach((rule, idx) => {
    if (rule.type === 'a') {
      if (idx !== 0 || rule.allow !== defaultAllow) {
        throw new Error(
          `[internal error] emulated cgroupv2 devices ruleset had bad wildcard at idx ${idx} (${cgroupString(rule)})`,
        );
      }
      return;
    }
    if (rule.allow === defaultAllow) {
      throw new Error(
        `[internal error] emulated cgroupv2 devices ruleset had no-op rule at idx ${idx} (${cgroupString(rule)})`,
      );
    }
    blocks.push(ruleBlock(rule));
  });

  // Resolve "jump to the next block": offsets are relative to the next instruction.
  const out: BpfInsn[] = [...prologue];
  for (const block of blocks) {
    const base = out.length;
    const end = base + block.length; // index of the next block's first instruction
    block.forEach((i, n) => {
      const at = base + n;
      const { jumpNext, ...plain } = i;
      out.push(jumpNext ? { ...plain, off: end - (at + 1) } : plain);
    });
  }
  out.push(insn(ALU32_MOV_K, R0, 0, 0, defaultAllow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0));
  return out;
}

function ruleBlock(rule: DeviceRule): Pending[] {
  const type = rule.type === 'c' ? BPF_DEVCG_DEV_CHAR : rule.type === 'b' ? BPF_DEVCG_DEV_BLOCK : -1;
  if (type < 0) throw new Error(`invalid type ${JSON.stringify(rule.type)}`);
  if (rule.major > 0xffffffff) throw new Error(`invalid major ${rule.major}`);
  if (rule.minor > 0xffffffff) throw new Error(`invalid minor ${rule.minor}`);
  const p = permSet(rule.permissions);
  let access = 0;
  if (p & 1) access |= BPF_DEVCG_ACC_READ;
  if (p & 2) access |= BPF_DEVCG_ACC_WRITE;
  if (p & 4) access |= BPF_DEVCG_ACC_MKNOD;
  const all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
  const b: Pending[] = [{ ...insn(JMP_JNE_K, R2, 0, 0, type), jumpNext: true }];
  if (access !== all) {
    // The requested access must be within the rule's: (r3 & access) == r3.
    b.push(insn(ALU32_MOV_X, R1, R3, 0, 0), insn(ALU32_AND_K, R1, 0, 0, access), {
      ...insn(JMP_JNE_X, R1, R3, 0, 0),
      jumpNext: true,
    });
  }
  if (rule.major >= 0) b.push({ ...insn(JMP_JNE_K, R4, 0, 0, rule.major | 0), jumpNext: true });
  if (rule.minor >= 0) b.push({ ...insn(JMP_JNE_K, R5, 0, 0, rule.minor | 0), jumpNext: true });
  b.push(insn(ALU32_MOV_K, R0, 0, 0, rule.allow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0));
  return b;
}

/** A listing in cilium/ebpf's notation (as runc's tests print programs), jump offsets resolved. */
export function disassemble(prog: BpfInsn[]): string[] {
  return prog.map((i, n) => {
    switch (i.code) {
      case LDX_MEM_W:
        return `${n}: LdXMemW dst: r${i.dst} src: r${i.src} off: ${i.off} imm: ${i.imm}`;
      case ALU32_AND_K:
        return `${n}: And32Imm dst: r${i.dst} imm: ${i.imm}`;
      case ALU32_RSH_K:
        return `${n}: RSh32Imm dst: r${i.dst} imm: ${i.imm}`;
      case ALU32_MOV_K:
        return `${n}: Mov32Imm dst: r${i.dst} imm: ${i.imm}`;
      case ALU32_MOV_X:
        return `${n}: Mov32Reg dst: r${i.dst} src: r${i.src}`;
      case JMP_JNE_K:
        return `${n}: JNEImm dst: r${i.dst} off: ${i.off} imm: ${i.imm}`;
      case JMP_JNE_X:
        return `${n}: JNEReg dst: r${i.dst} off: ${i.off} src: r${i.src}`;
      case JMP_EXIT:
        return `${n}: Exit`;
      default:
        return `${n}: op 0x${i.code.toString(16)} dst: r${i.dst} src: r${i.src} off: ${i.off} imm: ${i.imm}`;
    }
  });
}
