// Ansible user stages: playbook generation, the stapel toolchain and the runner.
export { runAnsibleStage, type AnsibleStageOptions } from './run-ansible-stage.js';
export { stapelToolchain, stapelToolchainDigest } from './stapel-toolchain.js';
export { normalisedTasks, playbookText, inventoryText, ansibleConfigText } from './playbook.js';
