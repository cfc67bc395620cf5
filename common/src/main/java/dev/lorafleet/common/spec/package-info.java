/**
 * The job spec (DESIGN.md's user contract): its records, the parser and checker that list every
 * problem by field path, the path policy, the file-system preflight, and the YAML writer.
 */
package dev.lorafleet.common.spec;
