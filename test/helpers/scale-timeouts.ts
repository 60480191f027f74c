/**
 * Vitest setup file (runs before each test file): the default test and hook timeouts
 * scaled by the load factor measured at suite start (test/helpers/load.ts).
 */
import { vi } from "vitest";
import { IDLE_HOOK_TIMEOUT_MS, IDLE_TEST_TIMEOUT_MS, scaled } from "./load.js";

vi.setConfig({ testTimeout: scaled(IDLE_TEST_TIMEOUT_MS), hookTimeout: scaled(IDLE_HOOK_TIMEOUT_MS) });
