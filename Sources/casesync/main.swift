import ArgumentParser; import CaseSyncCore
