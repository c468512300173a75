import ArgumentParser; import CaseSyncServer
